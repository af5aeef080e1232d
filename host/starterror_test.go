package host

import (
	"errors"
	"strings"
	"testing"
)

// TestStartErrorClassifiesRawText: the cases are told apart on go-plugin's raw text (its lines),
// and the text reported is sanitized.
func TestStartErrorClassifiesRawText(t *testing.T) {
	for _, c := range []struct{ raw, want, not string }{
		{"Unrecognized remote plugin message: \nFailed to read any lines from plugin's stdout\nThis usually means",
			"exited before the handshake", "\n"},
		{"Unrecognized remote plugin message: hello\x1b[31m, I am not a plugin\nmore",
			"not a rocketsend plugin", "\x1b"},
		{"plugin exited before we could connect", "exited before the handshake", ""},
	} {
		err := startError(errors.New(c.raw))
		if !strings.Contains(err.Error(), c.want) || (c.not != "" && strings.Contains(err.Error(), c.not)) {
			t.Errorf("%q: %v, want %q without %q", c.raw, err, c.want, c.not)
		}
	}
}
