package hookv1

import (
	"bytes"
	"testing"
)

func seeds(f *testing.F) {
	view, allow, forbid := docExample()
	var d DecisionBuilder
	d.Forbid("x")
	d.SetProperty("a", "b")
	d.DeleteProperty("c")
	d.SetKeys("k")
	d.ReplaceBody([]byte("body"))
	d.SelectQueue(-1)
	for _, s := range [][]byte{
		nil, {}, view, allow, forbid, d.Bytes(),
		AppendMessageView(nil, fullView()),
		AppendMessageView(nil, benchView()),
		AppendHookInfo(nil, &HookInfo{Name: "n", Version: "v", Points: []HookPoint{1, 2, 3, 4}, Needs: []Need{1, 2}, Topics: []string{"t"}, FailurePolicy: FailClosed, TimeoutUs: 5}),
		AppendHookConfig(nil, &HookConfig{Config: []byte("{}"), Settings: []KV{{"k", "v"}}}),
		unknownFields(),
		{0x0b, 0x0c}, {0x80}, {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, {0x22, 0x02, 0x0a, 0x05},
	} {
		f.Add(s)
	}
}

func FuzzView(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v View
		v.Reset(b)
		m := readView(t, &v) // never panics, whatever the bytes
		if v.Err() != nil {
			return
		}
		var full View
		full.Reset(b)
		if full.Validate() != nil {
			return // malformed past the fields readView reads
		}
		for _, p := range m.Properties {
			if _, ok := v.Property(p.Name); !ok {
				t.Fatalf("Property(%q) not found", p.Name)
			}
		}
		_, _ = v.Property("")
		// What was read re-encodes into a view that reads the same.
		var v2 View
		v2.Reset(AppendMessageView(nil, m))
		if err := v2.Validate(); err != nil {
			t.Fatal(err)
		}
		m2 := readView(t, &v2)
		if len(m2.Properties) != len(m.Properties) || len(m2.Queues) != len(m.Queues) || m2.Topic != m.Topic ||
			m2.LatencyNs != m.LatencyNs || m2.Flag != m.Flag || m2.HasQueue != m.HasQueue {
			t.Fatalf("re-encode differs:\n%+v\n%+v", m, m2)
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDecision(b)
		if err != nil {
			return
		}
		// What decoded re-encodes through the builder and decodes the same.
		var db DecisionBuilder
		if d.Verdict == Forbid {
			db.Forbid(d.Reason)
		}
		for _, e := range d.Edits {
			if e.Delete {
				db.DeleteProperty(e.Name)
			} else {
				db.SetProperty(e.Name, e.Value)
			}
		}
		if d.HasTags {
			db.SetTags(d.Tags)
		}
		if d.HasKeys {
			db.SetKeys(d.Keys)
		}
		if d.ReplaceBody {
			db.ReplaceBody(d.Body)
		}
		if d.QueueIndex >= 0 {
			db.SelectQueue(d.QueueIndex)
		}
		d2, err := DecodeDecision(db.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d.Verdict == Allow {
			d.Reason = "" // a reason without FORBID is not re-encoded
		}
		if !d.ReplaceBody {
			d.Body = nil
		}
		if d2.Verdict != d.Verdict || d2.Reason != d.Reason || len(d2.Edits) != len(d.Edits) || d2.HasTags != d.HasTags ||
			d2.Tags != d.Tags || d2.Keys != d.Keys || d2.ReplaceBody != d.ReplaceBody || !bytes.Equal(d2.Body, d.Body) ||
			d2.QueueIndex != d.QueueIndex {
			t.Fatalf("re-encode differs:\n%+v\n%+v", d, d2)
		}
		var into Decision
		if err := DecodeDecisionInto(&into, b); err != nil {
			t.Fatal("DecodeDecisionInto disagrees:", err)
		}
	})
}

func FuzzDecodeHookInfo(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHookInfo(b)
		if err != nil {
			return
		}
		h2, err := DecodeHookInfo(AppendHookInfo(nil, &h))
		if err != nil {
			t.Fatal(err)
		}
		if h2.Name != h.Name || h2.Version != h.Version || len(h2.Points) != len(h.Points) ||
			len(h2.Needs) != len(h.Needs) || len(h2.Topics) != len(h.Topics) || h2.FailurePolicy != h.FailurePolicy ||
			h2.TimeoutUs != h.TimeoutUs || h2.ConsistentSelect != h.ConsistentSelect || h2.SelectRetry != h.SelectRetry {
			t.Fatalf("re-encode differs:\n%+v\n%+v", h, h2)
		}
	})
}

func FuzzDecodeHookConfig(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeHookConfig(b)
		if err != nil {
			return
		}
		c2, err := DecodeHookConfig(AppendHookConfig(nil, &c))
		if err != nil || !bytes.Equal(c2.Config, c.Config) || len(c2.Settings) != len(c.Settings) {
			t.Fatalf("re-encode differs: %+v %+v %v", c, c2, err)
		}
	})
}
