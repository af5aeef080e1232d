// Package codec holds RocketMQ's wire formats as pure functions: remoting frames with JSON and
// ROCKETMQ binary headers, the request and response headers a producer uses, route and heartbeat
// bodies, the properties string, batch bodies, stored-message records, message ids, system flags,
// compression and the client-side validation rules.
//
// Nothing here does I/O, so every decoder can be fuzzed in isolation and reused by a fake broker.
// Decoders never panic: malformed input is reported as an error wrapping ErrMalformed.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// SerializeType selects the header encoding of a frame. It is carried in the top byte of the
// header-length word, so each frame says how its own header is encoded.
type SerializeType uint8

const (
	// SerializeJSON is fastjson-compatible JSON, what brokers answer with by default.
	SerializeJSON SerializeType = 0
	// SerializeRocketMQ is the compact binary header; rocketsend sends it by default because it is
	// cheaper to produce and to parse.
	SerializeRocketMQ SerializeType = 1
)

func (s SerializeType) String() string {
	switch s {
	case SerializeJSON:
		return "JSON"
	case SerializeRocketMQ:
		return "ROCKETMQ"
	}
	return fmt.Sprintf("SerializeType(%d)", uint8(s))
}

// Flag bits of a command.
const (
	FlagResponse = 1 << 0
	FlagOneway   = 1 << 1
)

// DefaultVersion is the remoting version rocketsend announces: MQVersion V5_3_3. Anything at or
// above 401 (V4_9_4) makes NameServers answer routes in standard JSON.
const DefaultVersion = 479

// MaxFrameSize is the largest frame (length prefix included) a RocketMQ server accepts by default;
// a larger one makes the peer close the connection without a response.
const MaxFrameSize = 16 * 1024 * 1024

// binaryFixedLen is the fixed part of a ROCKETMQ binary header.
const binaryFixedLen = 2 + 1 + 2 + 4 + 4 + 4 + 4

// ErrMalformed is wrapped by every decoding error, so callers can tell a broken peer from a
// transport failure with errors.Is.
var ErrMalformed = errors.New("codec: malformed input")

// ErrFrameTooLarge is returned when an encoded frame would exceed MaxFrameSize.
var ErrFrameTooLarge = errors.New("codec: frame exceeds 16 MiB")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Field is one extFields entry. Every value on the wire is a string; typed headers convert.
type Field struct {
	Key, Value string
}

// HeaderEncoder is implemented by typed request headers. EncodeExt writes the header's fields into
// the frame directly, in whichever header format the frame uses, without building a map.
type HeaderEncoder interface {
	EncodeExt(w *ExtWriter)
}

// Command is one remoting command, request or response.
//
// On a command being sent, Header (a typed header) and Ext (extra fields, such as ACL signatures)
// are both written into extFields, Header first. On a decoded command Header is nil and Ext holds
// every field in wire order; a key may repeat, and the last occurrence wins (ExtValue does that).
type Command struct {
	Code     int32
	Language LanguageCode
	Version  int32
	Opaque   int32
	Flag     int32
	Remark   string
	Header   HeaderEncoder
	Ext      []Field
	// Body is opaque to the remoting layer. On a decoded command it aliases the decoded buffer.
	Body []byte
}

// IsResponse reports whether c is a response (flag bit 0).
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether c is a oneway request, which the peer never answers.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// ExtValue returns the value of ext field key. Header fields of a command being sent are included.
func (c *Command) ExtValue(key string) (string, bool) {
	for i := len(c.Ext) - 1; i >= 0; i-- {
		if c.Ext[i].Key == key {
			return c.Ext[i].Value, true
		}
	}
	if c.Header != nil {
		for _, f := range c.Fields() {
			if f.Key == key {
				return f.Value, true
			}
		}
	}
	return "", false
}

// SetExt sets ext field key, replacing an earlier value in Ext.
func (c *Command) SetExt(key, value string) {
	for i := range c.Ext {
		if c.Ext[i].Key == key {
			c.Ext[i].Value = value
			return
		}
	}
	c.Ext = append(c.Ext, Field{key, value})
}

// Fields returns every ext field the command will carry on the wire, typed header first. RPC hooks
// that sign requests use it; it allocates, so the send path does not.
func (c *Command) Fields() []Field {
	w := ExtWriter{mode: extCollect}
	w.command(c)
	return w.fields
}

// NewRequest returns a request command with rocketsend's language and version.
func NewRequest(code int32, h HeaderEncoder, body []byte) *Command {
	return &Command{Code: code, Language: LanguageGo, Version: DefaultVersion, Header: h, Body: body}
}

// NewResponse returns a response to req with the given code and remark.
func NewResponse(req *Command, code int32, remark string) *Command {
	return &Command{Code: code, Language: LanguageGo, Version: DefaultVersion, Opaque: req.Opaque,
		Flag: FlagResponse, Remark: remark}
}

// AppendFrame appends the complete frame for c (length prefix, header, body) to dst. With enough
// capacity in dst it does not allocate.
func AppendFrame(dst []byte, c *Command, st SerializeType) ([]byte, error) {
	dst, err := AppendFrameHeader(dst, c, st)
	if err != nil {
		return dst, err
	}
	return append(dst, c.Body...), nil
}

// AppendFrameHeader appends c's frame without its body: the length prefix (which counts the
// body), the header-length word and the header. Appending c.Body completes the frame. A transport
// encodes the header before it takes its write lock, so concurrent senders encode in parallel and
// only copy under the lock.
func AppendFrameHeader(dst []byte, c *Command, st SerializeType) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	var err error
	switch st {
	case SerializeRocketMQ:
		dst, err = appendBinaryHeader(dst, c)
	case SerializeJSON:
		dst = appendJSONHeader(dst, c)
	default:
		return dst[:start], fmt.Errorf("codec: unknown serialize type %d", st)
	}
	if err != nil {
		return dst[:start], err
	}
	headerLen := len(dst) - start - 8
	if headerLen > 0xFFFFFF {
		return dst[:start], fmt.Errorf("%w (header of %d bytes)", ErrFrameTooLarge, headerLen)
	}
	total := len(dst) - start + len(c.Body)
	if total > MaxFrameSize {
		return dst[:start], fmt.Errorf("%w (%d bytes)", ErrFrameTooLarge, total)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(total-4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(st)<<24|uint32(headerLen))
	return dst, nil
}

// DecodeFrame decodes a frame whose 4-byte length prefix has already been consumed: b holds the
// header-length word, the header and the body. The returned command's Body aliases b.
func DecodeFrame(b []byte) (*Command, error) {
	if len(b) < 4 {
		return nil, malformed("frame of %d bytes is shorter than its header-length word", len(b))
	}
	word := binary.BigEndian.Uint32(b)
	st := SerializeType(word >> 24)
	hl := int(word & 0xFFFFFF)
	if hl > len(b)-4 {
		return nil, malformed("header length %d exceeds frame of %d bytes", hl, len(b))
	}
	header := b[4 : 4+hl]
	// The command and room for its ext fields come in one allocation; a send response (about six
	// fields) needs no other but its header text.
	d := &decodedCommand{}
	c := &d.Command
	c.Ext = d.ext[:0]
	var err error
	switch st {
	case SerializeRocketMQ:
		err = decodeBinaryHeader(header, c)
	case SerializeJSON:
		err = decodeJSONHeader(header, c)
	default:
		return nil, malformed("unknown serialize type %d", uint8(st))
	}
	if err != nil {
		return nil, err
	}
	if len(c.Ext) == 0 {
		c.Ext = nil
	}
	if len(b) > 4+hl {
		c.Body = b[4+hl:]
	}
	return c, nil
}

// decodedCommand is a decoded Command with the backing array of its first ext fields.
type decodedCommand struct {
	Command
	ext [8]Field
}

// FrameLength validates a frame's 4-byte length prefix and returns how many bytes follow it.
// Transports call it before allocating, so a corrupt prefix cannot make them allocate 2 GiB.
func FrameLength(prefix [4]byte, max int) (int, error) {
	n := int(binary.BigEndian.Uint32(prefix[:]))
	if n < 4 || n > max-4 {
		return 0, malformed("frame length %d outside [4, %d]", n, max-4)
	}
	return n, nil
}

func appendBinaryHeader(dst []byte, c *Command) ([]byte, error) {
	if c.Code > math.MaxInt16 || c.Code < math.MinInt16 {
		return dst, fmt.Errorf("codec: code %d does not fit the ROCKETMQ binary header; use JSON", c.Code)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(c.Code)))
	dst = append(dst, byte(c.Language))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(c.Version)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Opaque))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Flag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Remark)))
	dst = append(dst, c.Remark...)
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	w := ExtWriter{buf: dst}
	w.command(c)
	dst = w.buf
	if w.err != nil {
		return dst, w.err
	}
	binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4))
	return dst, nil
}

func decodeBinaryHeader(h []byte, c *Command) error {
	if len(h) < binaryFixedLen {
		return malformed("binary header of %d bytes is shorter than %d", len(h), binaryFixedLen)
	}
	c.Code = int32(int16(binary.BigEndian.Uint16(h)))
	c.Language = LanguageCode(h[2])
	c.Version = int32(int16(binary.BigEndian.Uint16(h[3:])))
	c.Opaque = int32(binary.BigEndian.Uint32(h[5:]))
	c.Flag = int32(binary.BigEndian.Uint32(h[9:]))
	p := 13
	rl := int(int32(binary.BigEndian.Uint32(h[p:])))
	p += 4
	if rl < 0 || rl > len(h)-p {
		return malformed("binary header remark length %d exceeds header", rl)
	}
	remarkAt := p
	p += rl
	if len(h)-p < 4 {
		return malformed("binary header truncated before ext length")
	}
	el := int(int32(binary.BigEndian.Uint32(h[p:])))
	p += 4
	if el < 0 || el > len(h)-p {
		return malformed("binary header ext length %d exceeds header", el)
	}
	end := p + el
	// First pass: validate the ext map and count the entries Java would keep.
	n := 0
	for q := p; q < end; {
		kl, vl, next, err := binaryExtEntry(h[:end], q)
		if err != nil {
			return err
		}
		// Java reads a zero-length string as null and drops null entries.
		if kl != 0 && vl != 0 {
			n++
		}
		q = next
	}
	if rl == 0 && n == 0 {
		return nil
	}
	// Second pass: one string holds the remark and every key and value; the fields are
	// substrings of it, so a header costs one allocation for its text and one for Ext.
	s := string(h[remarkAt:end])
	c.Remark = s[:rl]
	if n == 0 {
		return nil
	}
	if cap(c.Ext) < n {
		c.Ext = make([]Field, 0, n)
	}
	for q := p; q < end; {
		kl, vl, next, _ := binaryExtEntry(h[:end], q)
		if kl != 0 && vl != 0 {
			k := q + 2 - remarkAt
			v := k + kl + 4
			c.Ext = append(c.Ext, Field{s[k : k+kl], s[v : v+vl]})
		}
		q = next
	}
	return nil
}

// binaryExtEntry reads the lengths of the ext entry at h[q:] (h ends where the ext map ends) and
// returns them with the offset of the next entry.
func binaryExtEntry(h []byte, q int) (kl, vl, next int, err error) {
	if len(h)-q < 2 {
		return 0, 0, 0, malformed("binary ext field truncated in key length")
	}
	kl = int(int16(binary.BigEndian.Uint16(h[q:])))
	q += 2
	if kl < 0 || kl > len(h)-q {
		return 0, 0, 0, malformed("binary ext key length %d out of range", kl)
	}
	key := h[q : q+kl]
	q += kl
	if len(h)-q < 4 {
		return 0, 0, 0, malformed("binary ext field %q truncated in value length", key)
	}
	vl = int(int32(binary.BigEndian.Uint32(h[q:])))
	q += 4
	if vl < 0 || vl > len(h)-q {
		return 0, 0, 0, malformed("binary ext value length %d of %q out of range", vl, key)
	}
	return kl, vl, q + vl, nil
}
