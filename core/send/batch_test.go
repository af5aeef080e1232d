package send

import (
	"context"
	"errors"
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
