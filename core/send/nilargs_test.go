package send

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

type nilHook struct{}

func (*nilHook) SendMessageBefore(*SendContext) error { return nil }

// TestEveryNilIsAnError: every exported entry point given a nil it cannot use returns an error
// wrapping codec.ErrValidation, and panics on none.
func TestEveryNilIsAnError(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	p := startFake(t, fc)
	var nilCtx context.Context //nolint:staticcheck // the point of the test
	ctx := context.Background()
	m := func() *message.Message { return msg("x") }
	q := message.MessageQueue{Topic: "FakeTopic", BrokerName: "broker-a"}
	local := func(context.Context, *message.Message, *message.SendResult) (LocalTransactionState, error) {
		return CommitMessage, nil
	}
	var typedNil *nilHook
	for name, call := range map[string]func() error{
		"New(nil option)": func() error { _, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), nil); return err },
		"WithHooks(nil)": func() error {
			_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithHooks(nil))
			return err
		},
		"WithHooks(typed nil)": func() error {
			_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithHooks(typedNil))
			return err
		},
		"WithRPCHooks(nil)": func() error {
			_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithRPCHooks(nil))
			return err
		},
		"WithLogger(nil)": func() error {
			_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithLogger(nil))
			return err
		},
		"WithTLS(nil)": func() error { _, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithTLS(nil)); return err },
		"WithTransactionChecker": func() error {
			_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithTransactionChecker(nil))
			return err
		},
		"Start(nil)":                func() error { return p.Start(nilCtx) },
		"Shutdown(nil)":             func() error { return p.Shutdown(nilCtx) },
		"Send(nil ctx)":             func() error { _, err := p.Send(nilCtx, m()); return err },
		"Send(nil msg)":             func() error { _, err := p.Send(ctx, nil); return err },
		"Send(nil option)":          func() error { _, err := p.Send(ctx, m(), nil); return err },
		"Send(nil selector)":        func() error { _, err := p.Send(ctx, m(), WithSelector(nil, 1)); return err },
		"SendAsync(nil cb)":         func() error { return p.SendAsync(ctx, m(), nil) },
		"SendAsync(nil msg)":        func() error { return p.SendAsync(ctx, nil, func(*message.SendResult, error) {}) },
		"SendAsync(nil ctx)":        func() error { return p.SendAsync(nilCtx, m(), func(*message.SendResult, error) {}) },
		"SendOneway(nil msg)":       func() error { return p.SendOneway(ctx, nil) },
		"SendOneway(nil ctx)":       func() error { return p.SendOneway(nilCtx, m()) },
		"SendBatch(nil element)":    func() error { _, err := p.SendBatch(ctx, []*message.Message{nil}); return err },
		"SendBatch(nil later)":      func() error { _, err := p.SendBatch(ctx, []*message.Message{m(), nil}); return err },
		"SendBatch(nil slice)":      func() error { _, err := p.SendBatch(ctx, nil); return err },
		"SendBatch(nil ctx)":        func() error { _, err := p.SendBatch(nilCtx, []*message.Message{m()}); return err },
		"SendBatch(nil option)":     func() error { _, err := p.SendBatch(ctx, []*message.Message{m()}, nil); return err },
		"SendInTransaction(msg)":    func() error { _, err := p.SendInTransaction(ctx, nil, local); return err },
		"SendInTransaction(ctx)":    func() error { _, err := p.SendInTransaction(nilCtx, m(), local); return err },
		"Request(nil msg)":          func() error { _, err := p.Request(ctx, nil); return err },
		"Request(nil ctx)":          func() error { _, err := p.Request(nilCtx, m()); return err },
		"RequestAsync(nil cb)":      func() error { return p.RequestAsync(ctx, m(), nil) },
		"RequestAsync(nil ctx)":     func() error { return p.RequestAsync(nilCtx, m(), func(*message.Message, error) {}) },
		"ReplaceHooks(nil hook)":    func() error { _, err := p.ReplaceHooks(nil, nil); return err },
		"CreateTopic(nil ctx)":      func() error { return p.CreateTopic(nilCtx, "", "T", 1, "") },
		"CreateTopic(nil option)":   func() error { return p.CreateTopic(ctx, "", "T", 1, "", nil) },
		"MaxOffset(nil ctx)":        func() error { _, err := p.MaxOffset(nilCtx, q); return err },
		"MinOffset(nil ctx)":        func() error { _, err := p.MinOffset(nilCtx, q); return err },
		"SearchOffset(nil ctx)":     func() error { _, err := p.SearchOffset(nilCtx, q, time.Now()); return err },
		"EarliestMsgStoreTime":      func() error { _, err := p.EarliestMsgStoreTime(nilCtx, q); return err },
		"ViewMessage(nil ctx)":      func() error { _, err := p.ViewMessage(nilCtx, "x"); return err },
		"ViewMessageByID":           func() error { _, err := p.ViewMessageByID(nilCtx, "T", "x"); return err },
		"QueryMessage(nil ctx)":     func() error { _, err := p.QueryMessage(nilCtx, "T", "k", 1, time.Now(), time.Now()); return err },
		"FetchPublishMessageQueues": func() error { _, err := p.FetchPublishMessageQueues(nilCtx, "T"); return err },
		"RecallMessage(nil ctx)":    func() error { _, err := p.RecallMessage(nilCtx, "T", "h"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panicked: %v", r)
				}
			}()
			if err := call(); !errors.Is(err, codec.ErrValidation) {
				t.Fatalf("error %v, want one wrapping codec.ErrValidation", err)
			}
		})
	}
	if n := fc.brokers["broker-a"].sends.Load(); n != 0 {
		t.Fatalf("%d sends reached the broker", n)
	}
	// The producer still works after all of that.
	if _, err := p.Send(ctx, m()); err != nil {
		t.Fatal(err)
	}
}
