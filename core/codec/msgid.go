package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hexUpperDigits is Java UtilAll.HEX_ARRAY: ids are upper-case hex everywhere.
const hexUpperDigits = "0123456789ABCDEF"

// UniqIDGenerator creates client message ids (the UNIQ_KEY property) in Java's
// MessageClientIDSetter layout:
//
//	ip (4 or 16 bytes) | pid low 16 bits (2) | per-process random (4) | ms since month start (4) | counter (2)
//
// hex-encoded in upper case: 32 characters with an IPv4 address, 56 with IPv6. The first three
// fields are fixed per generator, so create one per process (DefaultUniqIDGenerator) rather than
// one per producer: two generators with the same ip, pid and random part could repeat ids.
//
// Next and AppendNext are safe for concurrent use and take no locks: the counter is atomic and
// the month window is swapped atomically when the month rolls over.
type UniqIDGenerator struct {
	prefix    [44]byte // hex of ip|pid|random: 20 characters for IPv4, 44 for IPv6
	prefixLen int
	counter   atomic.Uint32
	window    atomic.Pointer[uniqMonthWindow]
	loc       *time.Location
	now       func() time.Time // nil means time.Now; tests replace it
}

// uniqMonthWindow is [start of this month, start of next month) in Unix milliseconds.
type uniqMonthWindow struct{ start, next int64 }

// NewUniqIDGenerator returns a generator whose ids carry ip and the low 16 bits of pid. An IPv4
// address (including the IPv4-mapped IPv6 form) gives 32-character ids; any other 16-byte address
// gives 56-character ids; a nil or malformed ip is taken as 127.0.0.1. The 4-byte field Java fills
// with its class loader's hash is random, which keeps two processes that share ip and pid apart.
func NewUniqIDGenerator(ip net.IP, pid int) *UniqIDGenerator {
	return newUniqIDGenerator(ip, pid, rand.Uint32(), time.Local, nil)
}

func newUniqIDGenerator(ip net.IP, pid int, random uint32, loc *time.Location, now func() time.Time) *UniqIDGenerator {
	var raw [22]byte
	n := 0
	if v4 := ip.To4(); v4 != nil {
		n = copy(raw[:], v4)
	} else if len(ip) == net.IPv6len {
		n = copy(raw[:], ip)
	} else {
		n = copy(raw[:], []byte{127, 0, 0, 1})
	}
	binary.BigEndian.PutUint16(raw[n:], uint16(pid))
	binary.BigEndian.PutUint32(raw[n+2:], random)
	n += 6
	g := &UniqIDGenerator{loc: loc, now: now}
	for i, c := range raw[:n] {
		g.prefix[2*i] = hexUpperDigits[c>>4]
		g.prefix[2*i+1] = hexUpperDigits[c&0xF]
	}
	g.prefixLen = 2 * n
	g.roll(g.nowMillis())
	return g
}

var defaultUniqIDGenerator = sync.OnceValue(func() *UniqIDGenerator {
	return NewUniqIDGenerator(LocalIPv4(), os.Getpid())
})

// DefaultUniqIDGenerator returns the process-wide generator, built on first use from this host's
// address (a public IPv4 address if there is one, else a private one, else 127.0.0.1, the order
// Java's UtilAll.getIP prefers) and os.Getpid(). It is lazy so that importing codec does no I/O.
func DefaultUniqIDGenerator() *UniqIDGenerator { return defaultUniqIDGenerator() }

// NextUniqID returns DefaultUniqIDGenerator().Next().
func NextUniqID() string { return defaultUniqIDGenerator().Next() }

// NextUniqIDAt returns DefaultUniqIDGenerator().NextAt(now).
func NextUniqIDAt(now time.Time) string { return defaultUniqIDGenerator().NextAt(now) }

// Next returns a new id. It allocates only the returned string.
func (g *UniqIDGenerator) Next() string {
	var buf [56]byte
	return string(g.AppendNext(buf[:0]))
}

// NextAt returns a new id made at now, a time the caller has just read: a send reads the clock
// once for its id and its deadline.
func (g *UniqIDGenerator) NextAt(now time.Time) string {
	var buf [56]byte
	return string(g.appendNext(buf[:0], now.UnixMilli()))
}

// AppendNext appends a new id to dst without allocating (given room in dst).
func (g *UniqIDGenerator) AppendNext(dst []byte) []byte { return g.appendNext(dst, g.nowMillis()) }

func (g *UniqIDGenerator) appendNext(dst []byte, now int64) []byte {
	w := g.window.Load()
	if now >= w.next {
		w = g.roll(now)
	}
	// Java: (int)(current - startTime), clamped to 0 when a clock step back lands just before the
	// month start; a larger step back is written as the negative value, as Java does.
	diff := int32(now - w.start)
	if diff < 0 && diff > -1_000_000 {
		diff = 0
	}
	cnt := uint16(g.counter.Add(1) - 1) // Java's getAndIncrement starts at 0
	dst = append(dst, g.prefix[:g.prefixLen]...)
	dst = uniqAppendHex32(dst, uint32(diff))
	return append(dst,
		hexUpperDigits[cnt>>12], hexUpperDigits[cnt>>8&0xF],
		hexUpperDigits[cnt>>4&0xF], hexUpperDigits[cnt&0xF])
}

// Prefix returns the fixed part shared by every id of g (ip, pid and random part, in hex).
func (g *UniqIDGenerator) Prefix() string { return string(g.prefix[:g.prefixLen]) }

func (g *UniqIDGenerator) nowMillis() int64 {
	if g.now != nil {
		return g.now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// roll recomputes the month window for now. Concurrent callers compute the same window, so a
// plain Store is enough.
func (g *UniqIDGenerator) roll(now int64) *uniqMonthWindow {
	start := uniqMonthStart(time.UnixMilli(now).In(g.loc))
	w := &uniqMonthWindow{start: start.UnixMilli(), next: start.AddDate(0, 1, 0).UnixMilli()}
	g.window.Store(w)
	return w
}

func uniqMonthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}

func uniqAppendHex32(dst []byte, v uint32) []byte {
	return append(dst,
		hexUpperDigits[v>>28], hexUpperDigits[v>>24&0xF], hexUpperDigits[v>>20&0xF], hexUpperDigits[v>>16&0xF],
		hexUpperDigits[v>>12&0xF], hexUpperDigits[v>>8&0xF], hexUpperDigits[v>>4&0xF], hexUpperDigits[v&0xF])
}

// UniqIDInfo is what a UNIQ_KEY says about the message that carries it.
type UniqIDInfo struct {
	IP netip.Addr
	// PID is the low 16 bits of the producing process id.
	PID uint16
	// Random is the per-process field (Java: class loader hash).
	Random uint32
	// MonthMillis is the raw time field: milliseconds since the start of the producer's month.
	MonthMillis uint32
	// Time is the creation time as Java's getNearlyTimeFromID reconstructs it: the id carries no
	// month, so it is placed in the current month, or the previous one if that would be in the
	// future, using the local time zone. Only as good as the assumption that both sides share it.
	Time    time.Time
	Counter uint16
}

// ErrBadMessageID is wrapped by the errors of ParseUniqID and DecodeOffsetMsgID.
var ErrBadMessageID = errors.New("codec: malformed message id")

// ParseUniqID decodes a client message id (32 hex characters for IPv4, 56 for IPv6; either case).
func ParseUniqID(id string) (UniqIDInfo, error) {
	var raw [28]byte
	b, err := decodeIDHex(raw[:], id, "UNIQ_KEY")
	if err != nil {
		return UniqIDInfo{}, err
	}
	var info UniqIDInfo
	ipLen := 4
	if len(b) == 28 {
		ipLen = 16
		info.IP = netip.AddrFrom16([16]byte(b[:16]))
	} else {
		info.IP = netip.AddrFrom4([4]byte(b[:4]))
	}
	b = b[ipLen:]
	info.PID = binary.BigEndian.Uint16(b)
	info.Random = binary.BigEndian.Uint32(b[2:])
	info.MonthMillis = binary.BigEndian.Uint32(b[6:])
	info.Counter = binary.BigEndian.Uint16(b[10:])
	info.Time = uniqNearlyTime(info.MonthMillis, time.Now())
	return info, nil
}

// uniqNearlyTime is Java's getNearlyTimeFromID: the span is read as unsigned. Java moves to the
// previous month when the result is not before now (>=), which misplaces an id parsed in the
// millisecond it was made by a whole month; only a result after now moves here.
func uniqNearlyTime(span uint32, now time.Time) time.Time {
	start := uniqMonthStart(now)
	if start.UnixMilli()+int64(span) > now.UnixMilli() {
		start = time.Date(start.Year(), start.Month()-1, 1, 0, 0, 0, 0, start.Location())
	}
	return start.Add(time.Duration(span) * time.Millisecond)
}

// EncodeOffsetMsgID returns the broker's message id for a record stored at offset in the commit log
// of storeHost: ip (4 or 16 bytes) | port (4) | offset (8), upper-case hex, 32 characters for IPv4
// (IPv4-mapped IPv6 counts as IPv4, as it does in Java) and 56 for IPv6. An invalid address is
// written as 0.0.0.0.
func EncodeOffsetMsgID(storeHost netip.AddrPort, offset int64) string {
	var buf [56]byte
	return string(AppendOffsetMsgID(buf[:0], storeHost, offset))
}

// AppendOffsetMsgID appends EncodeOffsetMsgID's result to dst without allocating.
func AppendOffsetMsgID(dst []byte, storeHost netip.AddrPort, offset int64) []byte {
	var raw [28]byte
	n := 0
	addr := storeHost.Addr().Unmap()
	if addr.Is6() {
		a := addr.As16()
		n = copy(raw[:], a[:])
	} else {
		if addr.Is4() {
			a := addr.As4()
			copy(raw[:], a[:])
		}
		n = 4
	}
	binary.BigEndian.PutUint32(raw[n:], uint32(storeHost.Port()))
	binary.BigEndian.PutUint64(raw[n+4:], uint64(offset))
	for _, c := range raw[:n+12] {
		dst = append(dst, hexUpperDigits[c>>4], hexUpperDigits[c&0xF])
	}
	return dst
}

// DecodeOffsetMsgID parses a broker message id: 32 hex characters are IPv4, 56 are IPv6, either
// case. It returns the store host and the commit-log offset.
func DecodeOffsetMsgID(id string) (netip.AddrPort, int64, error) {
	var raw [28]byte
	b, err := decodeIDHex(raw[:], id, "offset message id")
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	var addr netip.Addr
	if len(b) == 28 {
		addr = netip.AddrFrom16([16]byte(b[:16]))
		b = b[16:]
	} else {
		addr = netip.AddrFrom4([4]byte(b[:4]))
		b = b[4:]
	}
	port := int32(binary.BigEndian.Uint32(b))
	if port < 0 || port > 0xFFFF {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: offset message id %q: port %d out of range 0..65535", ErrBadMessageID, id, port)
	}
	return netip.AddrPortFrom(addr, uint16(port)), int64(binary.BigEndian.Uint64(b[4:])), nil
}

// decodeIDHex decodes a 32- or 56-character hex id into raw.
func decodeIDHex(raw []byte, id, what string) ([]byte, error) {
	if len(id) != 32 && len(id) != 56 {
		return nil, fmt.Errorf("%w: %s %q has %d characters, want 32 (IPv4) or 56 (IPv6)", ErrBadMessageID, what, codecClip(id), len(id))
	}
	b := raw[:len(id)/2]
	for i := range b {
		hi, ok1 := msgIDUnhex(id[2*i])
		lo, ok2 := msgIDUnhex(id[2*i+1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: %s %q is not hexadecimal", ErrBadMessageID, what, id)
		}
		b[i] = hi<<4 | lo
	}
	return b, nil
}

func msgIDUnhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// SplitMsgIDs splits the comma-joined ids of a batch send result. Empty elements (a trailing
// comma) and surrounding spaces are dropped; "" gives nil.
func SplitMsgIDs(s string) []string {
	if s == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// LocalIPv4 picks this host's address the way Java's UtilAll.getIP does for IPv4: the first public
// address, else the first private non-loopback one, else 127.0.0.1. Message ids and client ids
// carry it.
func LocalIPv4() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	var private net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip[0] == 0 || ip[0] == 255 {
			continue
		}
		if !ip.IsPrivate() {
			return ip
		}
		if private == nil {
			private = ip
		}
	}
	if private != nil {
		return private
	}
	return net.IPv4(127, 0, 0, 1)
}

// codecClip keeps hostile or huge inputs from flooding error messages.
func codecClip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
