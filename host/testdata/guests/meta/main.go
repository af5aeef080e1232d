// Command meta is the benchmark guest: a plugin built with the SDK that reads metadata only (no
// properties, queues or body), as most hooks do. Every point does a little real work so the
// measured cost is that of a useful call, not of an empty export.
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func init() {
	guest.Register(guest.Plugin{
		Name: "meta", Version: "1",
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if string(v.Tags()) == "stamp" {
				d.SetProperty("stamped", "1")
			}
			return nil
		},
		After: func(v *hookv1.View) {
			if v.LatencyNs() < 0 {
				guest.Log(hookv1.LogWarn, "negative latency")
			}
		},
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if string(v.Topic()) == "forbidden" {
				d.Forbid("topic forbidden")
			}
			return nil
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			var h uint32
			for _, c := range v.Keys() {
				h = h*31 + uint32(c)
			}
			if n := v.QueueCount(); n > 0 {
				d.SelectQueue(int32(h % n))
			}
			return nil
		},
	})
}

func main() {}
