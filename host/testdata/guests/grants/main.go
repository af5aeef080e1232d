// Command grants is a test guest (Go SDK) that reports what its sandbox lets it see: in
// BEFORE_SEND it sets the property env to the value of $GRANTED (or "<unset>") and file to the
// contents of /granted/value.txt (or the error opening it). When the message has keys, read is set
// to the contents of the file the keys name (or the error): a hostile guest probing its grant.
package main

import (
	"os"
	"strings"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func init() {
	guest.Register(guest.Plugin{
		Name: "grants", Version: "1",
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			env, ok := os.LookupEnv("GRANTED")
			if !ok {
				env = "<unset>"
			}
			d.SetProperty("env", env)
			b, err := os.ReadFile("/granted/value.txt")
			if err != nil {
				d.SetProperty("file", "error: "+err.Error())
			} else {
				d.SetProperty("file", strings.TrimSpace(string(b)))
			}
			if k := string(v.Keys()); k != "" {
				if b, err := os.ReadFile(k); err != nil {
					d.SetProperty("read", "error: "+err.Error())
				} else {
					d.SetProperty("read", string(b))
				}
			}
			err = os.WriteFile("/granted/new.txt", []byte("x"), 0o644)
			d.SetProperty("write", map[bool]string{true: "refused", false: "allowed"}[err != nil])
			return nil
		},
	})
}

func main() {}
