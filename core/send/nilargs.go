package send

import (
	"context"
	"fmt"
	"reflect"

	"github.com/rocketsend/rocketsend/core/codec"
)

// Every exported function and method of the package returns an error for a nil argument that
// has no documented meaning, instead of panicking: a nil context, message, callback, option,
// hook, selector or logger. The error matches ErrValidation; like any refused input, it is
// not retried and nothing is sent.

// errNil reports the nil argument what.
func errNil(what string) error { return fmt.Errorf("%w: %s is nil", codec.ErrValidation, what) }

// ready is running() for calls that take a context.
func (p *Producer) ready(ctx context.Context) error {
	if ctx == nil {
		return errNil("context")
	}
	return p.running()
}

// isNil reports whether v is nil or a nil pointer, func, map, slice, channel or interface inside
// an interface (a typed nil hook passes a type assertion and panics on its first call).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// callOptionsOK refuses nil call options.
func callOptionsOK(opts []CallOption) error {
	for i, o := range opts {
		if o == nil {
			return errNil(fmt.Sprintf("call option %d", i))
		}
	}
	return nil
}
