package codec

import (
	"slices"
	"strings"

	"github.com/rocketsend/rocketsend/core/message"
)

// AppendProperties appends the wire form of props to dst: name\x01value\x02 for every entry whose
// name and value are both non-empty (Java's decoder drops the others, so sending them would only
// waste bytes).
//
// Entries come in map iteration order, which differs from call to call. Neither the broker nor
// any client depends on the order, and sorting would cost a key slice and O(n log n) on every
// send; use AppendPropertiesSorted where bytes must be reproducible (golden tests, hashing).
//
// Names and values are not checked for the separators \x01 and \x02: ValidateProperties does that
// once, before a message is first encoded, instead of on every retry.
func AppendProperties(dst []byte, props map[string]string) []byte {
	for k, v := range props {
		if k == "" || v == "" {
			continue
		}
		dst = append(dst, k...)
		dst = append(dst, message.NameValueSeparator)
		dst = append(dst, v...)
		dst = append(dst, message.PropertySeparator)
	}
	return dst
}

// AppendPropertiesSorted is AppendProperties with entries sorted by name, for output that must be
// byte-for-byte reproducible.
func AppendPropertiesSorted(dst []byte, props map[string]string) []byte {
	forSorted(props, func(k, v string) {
		dst = append(dst, k...)
		dst = append(dst, message.NameValueSeparator)
		dst = append(dst, v...)
		dst = append(dst, message.PropertySeparator)
	})
	return dst
}

// forSorted calls f for every entry of props with a non-empty name and value, by name. Up to 16
// names are sorted on the stack.
func forSorted(props map[string]string, f func(k, v string)) {
	var stack [16]string
	keys := stack[:0]
	for k, v := range props {
		if k != "" && v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		f(k, props[k])
	}
}

// EncodeProperties returns the wire form of props as a string, the type the send header's
// properties field ("i" in V2 headers) carries. One allocation.
func EncodeProperties(props map[string]string) string {
	n := PropertiesLen(props)
	if n == 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n)
	for k, v := range props {
		if k == "" || v == "" {
			continue
		}
		sb.WriteString(k)
		sb.WriteByte(message.NameValueSeparator)
		sb.WriteString(v)
		sb.WriteByte(message.PropertySeparator)
	}
	return sb.String()
}

// PropertiesLen returns the number of bytes AppendProperties would append, so that size limits
// (MaxPropertiesLength, maxMessageSize) can be checked without encoding.
func PropertiesLen(props map[string]string) int {
	n := 0
	for k, v := range props {
		if k != "" && v != "" {
			n += len(k) + len(v) + 2
		}
	}
	return n
}

// DecodeProperties parses the wire form with Java's rules (MessageDecoder.string2messageProperties):
// split on \x02; within a segment the first \x01 separates name from value; segments with an
// empty name, an empty value or no \x01 are skipped; a repeated name keeps its last value.
// It returns nil when s holds no property, so that decoding a message without properties does not
// allocate a map. Keys and values are substrings of s.
func DecodeProperties(s string) map[string]string {
	if len(s) < 3 {
		return nil
	}
	var m map[string]string
	for len(s) > 0 {
		seg := s
		if i := strings.IndexByte(s, message.PropertySeparator); i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		j := strings.IndexByte(seg, message.NameValueSeparator)
		if j <= 0 || j >= len(seg)-1 {
			continue
		}
		if m == nil {
			// Every pair needs at least 4 bytes, which bounds the hint for hostile input.
			m = make(map[string]string, min(strings.Count(s, "\x02")+1, len(s)/4+1))
		}
		m[seg[:j]] = seg[j+1:]
	}
	return m
}

// DecodePropertiesBytes is DecodeProperties for a byte slice. It copies b once into a string and
// slices keys and values out of it, so b may be reused afterwards.
func DecodePropertiesBytes(b []byte) map[string]string {
	if len(b) < 3 {
		return nil
	}
	return DecodeProperties(string(b))
}
