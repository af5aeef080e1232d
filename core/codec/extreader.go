package codec

import (
	"fmt"
	"strconv"
	"strings"
)

// extReader reads typed header fields from a decoded command and keeps the first error, so a
// header decoder reads every field in one expression and checks once.
type extReader struct {
	c   *Command
	err error
}

func (r *extReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *extReader) str(key string, required bool) string {
	v, ok := r.c.ExtValue(key)
	if !ok && required {
		r.fail("header field %q is missing (code %d)", key, r.c.Code)
	}
	return v
}

func (r *extReader) i64(key string, required bool) int64 {
	v := r.str(key, required)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail("header field %q is not an integer: %q", key, v)
	}
	return n
}

func (r *extReader) i32(key string, required bool) int32 {
	v := r.str(key, required)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		r.fail("header field %q is not a 32-bit integer: %q", key, v)
	}
	return int32(n)
}

// bool reads a Boolean field as Java's Boolean.parseBoolean does: "true" in any case is true,
// anything else (or nothing) false.
func (r *extReader) bool(key string) bool {
	v, _ := r.c.ExtValue(key)
	return strings.EqualFold(v, "true")
}
