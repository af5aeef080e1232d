package main

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

const (
	propTraceID  = "trace_id"
	propTracedBy = "traced_by"
)

type tracer struct {
	name    string // prefix of the trace ids and value of traced_by
	level   int32  // level of the AFTER_SEND log line
	counter uint64
	buf     []byte // reused for the trace id
}

func parseConfig(c hookv1.HookConfig, name string) (*tracer, error) {
	t := &tracer{name: name, level: hookv1.LogInfo}
	for _, kv := range c.Settings {
		switch kv.Key {
		case "name":
			if kv.Value == "" {
				return nil, fmt.Errorf("tracing: name is empty")
			}
			t.name = kv.Value
		case "log_level":
			l, ok := levels[kv.Value]
			if !ok {
				return nil, fmt.Errorf("tracing: log_level %q: want trace, debug, info, warn or error", kv.Value)
			}
			t.level = l
		default:
			return nil, fmt.Errorf("tracing: unknown setting %q", kv.Key)
		}
	}
	return t, nil
}

var levels = map[string]int32{"trace": hookv1.LogTrace, "debug": hookv1.LogDebug, "info": hookv1.LogInfo,
	"warn": hookv1.LogWarn, "error": hookv1.LogError}

// before stamps trace_id (name-counter) and traced_by. A message that already carries a trace_id
// (a retry, or one traced upstream) keeps it. property looks a property up.
func (t *tracer) before(v *hookv1.View, d *hookv1.DecisionBuilder, property func(string) ([]byte, bool)) error {
	if _, ok := property(propTraceID); !ok {
		t.counter++
		t.buf = append(t.buf[:0], t.name...)
		t.buf = append(t.buf, '-')
		t.buf = strconv.AppendUint(t.buf, t.counter, 10)
		// The builder copies the value at once, so a string over the reused buffer is safe here.
		d.SetProperty(propTraceID, unsafe.String(unsafe.SliceData(t.buf), len(t.buf)))
	}
	d.SetProperty(propTracedBy, t.name)
	return nil
}

// afterLine is the log line of an attempt's outcome.
func (t *tracer) afterLine(v *hookv1.View, traceID []byte) string {
	broker, qid := v.Queue()
	s := fmt.Sprintf("send topic=%s attempt=%d status=%d latency=%s queue=%s/%d trace_id=%s msg_id=%s",
		v.Topic(), v.Attempt(), v.Status(), time.Duration(v.LatencyNs()), broker, qid, traceID, v.MsgID())
	if e := v.Error(); len(e) > 0 {
		s += " error=" + strconv.Quote(string(e))
	}
	return s
}
