package main

import (
	"fmt"
	"strconv"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

type redactor struct {
	minDigits int
	mask      byte
	out       []byte // reused
}

func parseConfig(c hookv1.HookConfig) (*redactor, error) {
	r := &redactor{minDigits: 12, mask: '*'}
	for _, kv := range c.Settings {
		switch kv.Key {
		case "min_digits":
			n, err := strconv.Atoi(kv.Value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("redact: min_digits %q: want a positive integer", kv.Value)
			}
			r.minDigits = n
		case "mask":
			if len(kv.Value) != 1 {
				return nil, fmt.Errorf("redact: mask %q: want one ASCII character", kv.Value)
			}
			r.mask = kv.Value[0]
		default:
			return nil, fmt.Errorf("redact: unknown setting %q", kv.Key)
		}
	}
	return r, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// redact returns body with every run of at least minDigits ASCII digits replaced by the mask, and
// whether it changed anything. The result aliases a buffer reused by the next call; body is not
// modified.
func (r *redactor) redact(body []byte) ([]byte, bool) {
	changed := false
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j-i >= r.minDigits {
			if !changed {
				r.out = append(r.out[:0], body...)
				changed = true
			}
			for k := i; k < j; k++ {
				r.out[k] = r.mask
			}
		}
		i = j
	}
	if !changed {
		return body, false
	}
	return r.out, true
}

// before redacts the body (read with body) and marks the message redacted=true when it changed.
// A batch is left alone: its body is the encoded batch (ids and properties included), which the
// host refuses to let a plugin replace.
func (r *redactor) before(v *hookv1.View, d *hookv1.DecisionBuilder, body func() []byte) error {
	if v.BodySize() == 0 || v.Batch() {
		return nil
	}
	out, changed := r.redact(body())
	if changed {
		d.ReplaceBody(out)
		d.SetProperty("redacted", "true")
	}
	return nil
}
