package javapeertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TraceRecord is one message-trace record as the official Java decoder
// (org.apache.rocketmq.client.trace.TraceDataEncoder.decoderFromTraceDataString)
// returns it from a trace message's body: the TraceContext's fields and those
// of its TraceBean. Fields the decoder does not set for a record type keep the
// Java defaults (TraceBean's "" strings, TraceContext's current time stamp).
type TraceRecord struct {
	// The trace message the record came in.
	TraceMsgID string `json:"traceMsgId"`
	TraceKeys  string `json:"traceKeys"`
	TraceTopic string `json:"traceTopic"`
	// Decoded is how many records the decoder returned for the message, RawRecords
	// how many the body holds (split at FIELD_SPLITOR): the decoder silently
	// skips records of an unknown type. Raw is this record's text.
	Decoded    int    `json:"decoded"`
	RawRecords int    `json:"rawRecords"`
	Raw        string `json:"raw"`

	TraceType   string `json:"traceType"` // Pub, EndTransaction, SubBefore, ...
	TimeStamp   int64  `json:"timeStamp"`
	RegionID    string `json:"regionId"`
	GroupName   string `json:"groupName"`
	CostTime    int    `json:"costTime"`
	Success     bool   `json:"success"`
	ContextCode int    `json:"contextCode"`

	Topic                string `json:"topic"`
	MsgID                string `json:"msgId"`
	OffsetMsgID          string `json:"offsetMsgId"`
	Tags                 string `json:"tags"`
	Keys                 string `json:"keys"`
	StoreHost            string `json:"storeHost"`
	BodyLength           int    `json:"bodyLength"`
	MsgType              string `json:"msgType"` // Normal_Msg, Trans_Msg_Half, ...
	TransactionID        string `json:"transactionId"`
	TransactionState     string `json:"transactionState"` // COMMIT_MESSAGE, ROLLBACK_MESSAGE, UNKNOW
	FromTransactionCheck bool   `json:"fromTransactionCheck"`
}

func (r TraceRecord) String() string {
	return fmt.Sprintf("%s %s/%s id=%s region=%s group=%s success=%v raw=%q",
		r.TraceType, r.TraceTopic, r.Topic, r.MsgID, r.RegionID, r.GroupName, r.Success,
		strings.NewReplacer("\x01", "|").Replace(r.Raw))
}

// TraceConsumer is a running Java consumer of a trace topic (javapeer trace).
type TraceConsumer struct{ events }

// ConsumeTrace starts a Java push consumer on traceTopic (RMQ_SYS_TRACE_TOPIC or
// a custom trace topic) in a fresh group reading from the first offset, which
// decodes every message with the Java client's TraceDataEncoder and reports
// each record; it returns once the consumer is ready (see Consume). WithCount
// counts trace messages, not records; Orderly is not supported.
func ConsumeTrace(t testing.TB, namesrv, traceTopic string, opts ...ConsumeOption) *TraceConsumer {
	t.Helper()
	p, ready := startConsumer(t, "trace", namesrv, traceTopic, opts)
	return &TraceConsumer{events{t: t, p: p, ready: ready}}
}

// Ready returns what the consumer reported when it became ready.
func (c *TraceConsumer) Ready() ReadyInfo { return c.ready }

// Next returns the next decoded record, waiting at most timeout. A trace message
// the Java decoder cannot read fails the test, with the decoder's exception.
func (c *TraceConsumer) Next(timeout time.Duration) (r TraceRecord, ok bool) {
	c.t.Helper()
	ok = c.nextEvent(timeout, func(ev string, line []byte) bool {
		switch ev {
		case "trace":
			if err := json.Unmarshal(line, &r); err != nil {
				c.t.Fatalf("javapeertest: bad trace line %.300q: %v", line, err)
			}
			return true
		case "traceError":
			c.t.Fatalf("javapeertest: the Java trace decoder failed on a trace message: %s", line)
		}
		return false
	})
	return r, ok
}

// CollectWhere returns the first n records for which keep is true (others are
// read and ignored: a shared trace topic carries other tests' records), waiting
// at most timeout in total; if fewer arrive it fails the test, listing them.
func (c *TraceConsumer) CollectWhere(n int, timeout time.Duration, keep func(TraceRecord) bool) []TraceRecord {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var out []TraceRecord
	for len(out) < n {
		r, ok := c.Next(time.Until(deadline))
		if !ok {
			var b strings.Builder
			for _, r := range out {
				fmt.Fprintf(&b, "  %s\n", r)
			}
			c.t.Fatalf("javapeertest: TraceConsumer.CollectWhere(%d, %v): only %d record(s) (%s):\n%s\nstderr (tail):\n%s",
				n, timeout, len(out), c.p.describe(), b.String(), c.p.stderr.String())
		}
		if keep == nil || keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Stderr returns (the head and tail of) the JVM's stderr so far.
func (c *TraceConsumer) Stderr() string { return c.p.stderr.String() }

// Close stops the JVM; the test's cleanup calls it too.
func (c *TraceConsumer) Close() { c.p.close() }
