package codec

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser reads the JSON that fastjson writes, which is not always standard: map keys may be
// bare numbers ({0:"127.0.0.1:10911"}) or whole objects ({{"brokerName":"a"}:{...}}), and strings
// may use single quotes. encoding/json rejects all three, so route and header decoding use this.
//
// It is a pull parser: typed decoders walk objects with object() and read values in place, so a
// response header is decoded without building a generic tree.
type jsonParser struct {
	b     []byte
	i     int
	depth int
	// s, when set, is string(b): strings without escapes are then substrings of it instead of
	// one allocation each. Frame headers use it; long-lived bodies (routes) do not, so a cached
	// route does not pin its whole body.
	s string
}

// substr returns b[start:end] as a string.
func (p *jsonParser) substr(start, end int) string {
	if len(p.s) == len(p.b) && p.s != "" {
		return p.s[start:end]
	}
	return string(p.b[start:end])
}

const jsonMaxDepth = 64

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *jsonParser) expect(c byte) error {
	if p.peek() != c {
		return p.errorf("expected %q", c)
	}
	p.i++
	return nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return malformed("json at offset %d: "+format, append([]any{p.i}, args...)...)
}

// end checks that nothing but whitespace follows the top-level value.
func (p *jsonParser) end() error {
	if p.peek() != 0 || p.i != len(p.b) {
		return p.errorf("trailing data")
	}
	return nil
}

// object calls fn once per member with the parser positioned at the member's value; fn must consume
// that value (read it or skip it).
func (p *jsonParser) object(fn func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if p.depth++; p.depth > jsonMaxDepth {
		return p.errorf("nesting deeper than %d", jsonMaxDepth)
	}
	defer func() { p.depth-- }()
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		k, err := p.key()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
			if p.peek() == '}' { // fastjson tolerates a trailing comma
				p.i++
				return nil
			}
		case '}':
			p.i++
			return nil
		default:
			return p.errorf("expected ',' or '}' in object")
		}
	}
}

// array calls fn once per element with the parser positioned at the element.
func (p *jsonParser) array(fn func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if p.depth++; p.depth > jsonMaxDepth {
		return p.errorf("nesting deeper than %d", jsonMaxDepth)
	}
	defer func() { p.depth-- }()
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return p.errorf("expected ',' or ']' in array")
		}
	}
}

// key reads an object key: a quoted string, a bare token, or (fastjson's map-with-object-keys) a
// whole object or array, whose raw text becomes the key.
func (p *jsonParser) key() (string, error) {
	switch c := p.peek(); c {
	case '"', '\'':
		return p.str()
	case '{', '[':
		start := p.i
		if err := p.skip(); err != nil {
			return "", err
		}
		return p.substr(start, p.i), nil
	case 0:
		return "", p.errorf("unexpected end in object key")
	default:
		start := p.i
		for p.i < len(p.b) {
			c := p.b[p.i]
			if c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}' {
				break
			}
			p.i++
		}
		if p.i == start {
			return "", p.errorf("empty object key")
		}
		return p.substr(start, p.i), nil
	}
}

// str reads a double- or single-quoted string.
func (p *jsonParser) str() (string, error) {
	q := p.peek()
	if q != '"' && q != '\'' {
		return "", p.errorf("expected string")
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == q {
			s := p.substr(start, p.i)
			p.i++
			return s, nil
		}
		if c == '\\' {
			return p.strEscaped(q, start)
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) strEscaped(q byte, start int) (string, error) {
	// The raw text up to the closing quote bounds the unescaped length: size out once.
	j := p.i
	for j < len(p.b) && p.b[j] != q {
		if p.b[j] == '\\' {
			j++
		}
		j++
	}
	out := make([]byte, 0, min(j, len(p.b))-start)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == q:
			p.i++
			return string(out), nil
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/', '\'':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair becomes one rune; an unpaired surrogate becomes U+FFFD and the escape
				// after it, if it does not complete the pair, is read on its own (as
				// encoding/json does).
				d := utf8.RuneError
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, ok2 := p.hex4(); ok2 && utf16.DecodeRune(r, r2) != utf8.RuneError {
						d = utf16.DecodeRune(r, r2)
					} else {
						p.i = save
					}
				}
				r = d
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.errorf("bad escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// literal reads a bare token: a number, true, false or null.
func (p *jsonParser) literal() ([]byte, error) {
	p.ws()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return nil, p.errorf("unexpected character")
	}
	return p.b[start:p.i], nil
}

// text reads a string, or the text of a bare literal (fastjson writes numbers where a string may
// be expected and the other way round); null reads as "".
func (p *jsonParser) text() (string, error) {
	switch p.peek() {
	case '"', '\'':
		return p.str()
	case '{', '[':
		return "", p.errorf("expected a scalar")
	}
	lit, err := p.literal()
	if err != nil {
		return "", err
	}
	if string(lit) == "null" {
		return "", nil
	}
	return p.substr(p.i-len(lit), p.i), nil
}

// int reads an integer written as a number or as a quoted number; null reads as 0.
func (p *jsonParser) int() (int64, error) {
	var lit []byte
	switch p.peek() {
	case '"', '\'':
		s, err := p.str()
		if err != nil {
			return 0, err
		}
		lit = []byte(s)
	default:
		var err error
		if lit, err = p.literal(); err != nil {
			return 0, err
		}
		if string(lit) == "null" {
			return 0, nil
		}
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return 0, p.errorf("bad integer %q", lit)
	}
	return n, nil
}

// int32 reads an integer that must fit a Java int; a larger one is an error, not a silent wrap
// (a wrapped opaque would match the wrong request).
func (p *jsonParser) int32() (int32, error) {
	n, err := p.int()
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, p.errorf("integer %d does not fit 32 bits", n)
	}
	return int32(n), nil
}

// null consumes a null literal if one is next and reports whether it did.
func (p *jsonParser) null() bool {
	if p.peek() != 'n' {
		return false
	}
	save := p.i
	if lit, err := p.literal(); err == nil && string(lit) == "null" {
		return true
	}
	p.i = save
	return false
}

// bool reads true/false, also when quoted.
func (p *jsonParser) bool() (bool, error) {
	s, err := p.text()
	if err != nil {
		return false, err
	}
	switch s {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, p.errorf("bad boolean %q", s)
}

// skip consumes one value of any kind.
func (p *jsonParser) skip() error {
	switch p.peek() {
	case '{':
		return p.object(func(string) error { return p.skip() })
	case '[':
		return p.array(p.skip)
	case '"', '\'':
		_, err := p.str()
		return err
	default:
		_, err := p.literal()
		return err
	}
}

// appendJSONString appends s as a JSON string. Control characters (RocketMQ's property separators
// among them) are escaped; other bytes pass through.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONChars(dst, s)
	return append(dst, '"')
}

// appendJSONChars appends s escaped for the inside of a JSON string.
func appendJSONChars(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}
