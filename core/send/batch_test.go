package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// TestBatchPartsShareAQueueAndReportPartialFailure: a batch split in parts sends every part to the
// queue of the first, across two brokers; when a later part is refused, the *BatchError lists what
// was stored and what was not, and nothing is lost between them.
func TestBatchPartsShareAQueueAndReportPartialFailure(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	type seen struct {
		broker string
		queue  int32
	}
	var mu sync.Mutex
	var parts []seen
	refuseFrom := -1 // index of the first part to refuse
	for name, b := range fc.brokers {
		b.setHandler(func(req *codec.Command) *codec.Command {
			if req.Code == codec.SendBatchMessage {
				h, _ := codec.DecodeSendMessageRequestHeader(req)
				mu.Lock()
				parts = append(parts, seen{name, h.QueueID})
				refuse := refuseFrom >= 0 && len(parts) > refuseFrom
				mu.Unlock()
				if refuse {
					return codec.NewResponse(req, codec.MessageIllegal, "fake refusal")
				}
			}
			return fakeBrokerAnswer(b, req, codec.Success)
		})
	}
	p := startFake(t, fc, WithMaxMessageSize(2048), WithCompression(0, codec.Zlib, 0))
	batch := func() []*message.Message {
		var msgs []*message.Message
		for i := 0; i < 12; i++ {
			msgs = append(msgs, msg(strings.Repeat("b", 500)))
		}
		return msgs
	}
	for round := 0; round < 8; round++ { // the first part's queue varies; the others follow it
		mu.Lock()
		parts = nil
		mu.Unlock()
		res, err := p.SendBatch(context.Background(), batch())
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(parts) < 3 {
			t.Fatalf("%d parts", len(parts))
		}
		for _, s := range parts[1:] {
			if s != parts[0] {
				t.Fatalf("parts went to %v", parts)
			}
		}
		mu.Unlock()
		for _, m := range res.Messages {
			if m.Queue.BrokerName != parts[0].broker || m.Queue.QueueID != int(parts[0].queue) {
				t.Fatalf("result queue %v, parts %v", m.Queue, parts[0])
			}
		}
	}

	mu.Lock()
	parts, refuseFrom = nil, 1
	mu.Unlock()
	msgs := batch()
	res, err := p.SendBatch(context.Background(), msgs)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrMessageIllegal) {
		t.Fatalf("partial failure: %v", err)
	}
	if res != be.Sent || len(be.Sent.Messages) == 0 || len(be.Sent.Messages)+len(be.Unsent) != len(msgs) {
		t.Fatalf("stored %d, unsent %d, of %d", len(be.Sent.Messages), len(be.Unsent), len(msgs))
	}
	for i, m := range msgs {
		want := ""
		if i < len(be.Sent.Messages) {
			want = be.Sent.Messages[i].MsgID
		} else {
			want = be.Unsent[i-len(be.Sent.Messages)]
		}
		if m.UniqID() != want {
			t.Fatalf("message %d: id %s, reported %s", i, m.UniqID(), want)
		}
	}
}

// TestBatchRecordPropertiesLimit: the broker appends the batch's properties and its own to every
// record without checking the sum; the client refuses a record that would overflow.
func TestBatchRecordPropertiesLimit(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	p := startFake(t, fc, WithCompression(0, codec.Zlib, 0))
	big := msg("x")
	if err := big.SetProperty("pad", strings.Repeat("p", codec.MaxPropertiesLength-100)); err != nil {
		t.Fatal(err)
	}
	_, err := p.SendBatch(context.Background(), []*message.Message{msg("a"), big})
	var ve *codec.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "batch message 1") {
		t.Fatalf("%v", err)
	}
	if n := fc.brokers["broker-a"].sends.Load(); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// TestBatchHookPropertiesGoIntoEveryRecord: what a Before hook sets on a SendBatch wrapper is
// written into each record, and the request carries WAIT alone, because the 5.5 broker drops a
// batch request's properties (4.9 to 5.3 append them to every message). A record's own value of
// the same name loses to the hook's, as it does where the broker appends; the caller's messages
// are left as they were.
func TestBatchHookPropertiesGoIntoEveryRecord(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	var mu sync.Mutex
	var wire []string
	var records []*message.Message
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendBatchMessage {
			ms, err := codec.DecodeBatch(req.Body)
			if err != nil {
				return codec.NewResponse(req, codec.MessageIllegal, err.Error())
			}
			h, err := codec.DecodeSendMessageRequestHeader(req)
			if err != nil {
				return codec.NewResponse(req, codec.MessageIllegal, err.Error())
			}
			mu.Lock()
			wire, records = append(wire, h.Properties), append(records, ms...)
			mu.Unlock()
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	stamp := hookFuncs{before: func(sc *SendContext) error {
		if err := sc.Message.SetProperty("trace_id", fmt.Sprintf("t-%d", sc.Attempt)); err != nil {
			return err
		}
		return sc.Message.SetProperty("shared", "hook")
	}}
	p := startFake(t, fc, WithCompression(0, codec.Zlib, 0), WithHooks(stamp))
	a, bm := msg("a"), msg("b")
	if err := bm.SetProperty("shared", "own"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendBatch(context.Background(), []*message.Message{a, bm}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(wire) != 1 || len(records) != 2 {
		t.Fatalf("%d requests, %d records", len(wire), len(records))
	}
	if props := codec.DecodeProperties(wire[0]); len(props) != 1 || props[message.PropertyWaitStoreMsgOK] != "true" {
		t.Errorf("the request carries %v; want WAIT alone", props)
	}
	for i, r := range records {
		if r.Property("trace_id") != "t-1" || r.Property("shared") != "hook" {
			t.Errorf("record %d: trace_id %q, shared %q; want the hook's t-1 and hook", i, r.Property("trace_id"), r.Property("shared"))
		}
		if r.UniqID() == "" || r.UniqID() != []*message.Message{a, bm}[i].UniqID() {
			t.Errorf("record %d lost its own id: %q", i, r.UniqID())
		}
	}
	if a.Property("trace_id") != "" || bm.Property("shared") != "own" {
		t.Errorf("the caller's messages were changed: %v, %v", a.Properties, bm.Properties)
	}
}

// TestBatchHookPropertiesOverTheSize: a batch that the properties its hooks set push over the
// maximum message size is refused, and nothing is sent.
func TestBatchHookPropertiesOverTheSize(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	pad := hookFuncs{before: func(sc *SendContext) error {
		return sc.Message.SetProperty("pad", strings.Repeat("p", 2000))
	}}
	p := startFake(t, fc, WithMaxMessageSize(4096), WithCompression(0, codec.Zlib, 0), WithHooks(pad))
	_, err := p.SendBatch(context.Background(), []*message.Message{msg("a"), msg("b"), msg("c")})
	var ve *codec.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "Before hooks") {
		t.Fatalf("%v", err)
	}
	if n := fc.brokers["broker-a"].sends.Load(); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}
