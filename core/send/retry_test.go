package send

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// injected is what the fake brokers do to the first send request they get; later ones succeed.
type injected int

const (
	faultBusy injected = iota // SYSTEM_BUSY, a code Java's sync send retries
	faultHang                 // never answers: the attempt times out
	faultDrop                 // the connection dies with the request unanswered
	faultPerm                 // MESSAGE_ILLEGAL, a code nobody retries
	faultNone                 // every request succeeds
)

func (f injected) String() string {
	return [...]string{"SYSTEM_BUSY", "no answer", "connection lost", "MESSAGE_ILLEGAL", "none"}[f]
}

// faultyCluster is two fake brokers whose first send request gets f; got records the queue of
// every send request, in order.
func faultyCluster(t *testing.T, f injected) (fc *fakeCluster, got func() []message.MessageQueue) {
	fc = newFakeCluster(t, "broker-a", "broker-b")
	var sends atomic.Int64
	var mu sync.Mutex
	var queues []message.MessageQueue
	for _, b := range fc.brokers {
		b := b
		b.setHandler(func(req *codec.Command) *codec.Command {
			if req.Code == codec.SendMessageV2 {
				h, err := codec.DecodeSendMessageRequestHeader(req)
				if err == nil {
					mu.Lock()
					queues = append(queues, message.MessageQueue{BrokerName: b.name, QueueID: int(h.QueueID)})
					mu.Unlock()
				}
			}
			if req.Code != codec.SendMessageV2 || sends.Add(1) > 1 {
				return fakeBrokerAnswer(b, req, codec.Success)
			}
			switch f {
			case faultBusy:
				return fakeBrokerAnswer(b, req, codec.SystemBusy)
			case faultPerm:
				return fakeBrokerAnswer(b, req, codec.MessageIllegal)
			case faultHang:
				b.sends.Add(1)
				return nil
			case faultDrop:
				b.sends.Add(1)
				return dropConn
			}
			return fakeBrokerAnswer(b, req, codec.Success)
		})
	}
	return fc, func() []message.MessageQueue {
		mu.Lock()
		defer mu.Unlock()
		return append([]message.MessageQueue(nil), queues...)
	}
}

// sameQueueHash is a hash selector that opts in to retries on its queue.
func sameQueueHash() QueueSelector { return WithRetry(HashJava(), RetrySameQueue) }

// TestRetryRules is the table of docs/producer.md, "Retry rules": for each kind of send and each
// failure of its first attempt, how many attempts are made, whether the retry changes broker, and
// what the caller gets.
func TestRetryRules(t *testing.T) {
	type choice struct {
		name string
		opts func(fc *fakeCluster) []CallOption
	}
	dflt := choice{"default", func(*fakeCluster) []CallOption { return nil }}
	toQueue := choice{"ToQueue", func(*fakeCluster) []CallOption {
		return []CallOption{ToQueue(message.MessageQueue{BrokerName: "broker-a", QueueID: 1})}
	}}
	ordered := choice{"OrderedBy", func(*fakeCluster) []CallOption { return []CallOption{OrderedBy("key-1")} }}
	sameQ := choice{"selector RetrySameQueue", func(*fakeCluster) []CallOption {
		return []CallOption{WithSelector(sameQueueHash(), "key-1")}
	}}
	reselect := choice{"selector RoundRobin (RetryReselect)", func(*fakeCluster) []CallOption {
		return []CallOption{WithSelector(RoundRobin(), nil)}
	}}
	plain := choice{"selector func (RetryNever)", func(*fakeCluster) []CallOption {
		return []CallOption{WithSelector(QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
			return qs[0], nil
		}), nil)}
	}}
	const (
		other = "other broker"
		same  = "same queue"
	)
	cases := []struct {
		mode     Mode
		choice   choice
		fault    injected
		attempts int
		retryOn  string // other, same, or "" for one attempt
		want     error  // nil: the send succeeds
	}{
		{ModeSync, dflt, faultBusy, 2, other, nil},
		{ModeSync, dflt, faultHang, 2, other, nil}, // the first attempt gets half the budget
		{ModeSync, dflt, faultDrop, 2, other, nil},
		{ModeSync, dflt, faultPerm, 1, "", ErrMessageIllegal},
		{ModeSync, toQueue, faultBusy, 1, "", ErrSystemBusy},
		{ModeSync, toQueue, faultDrop, 1, "", ErrConnClosed},
		{ModeSync, ordered, faultBusy, 1, "", ErrSystemBusy},
		{ModeSync, ordered, faultHang, 1, "", ErrTimeout},
		{ModeSync, plain, faultBusy, 1, "", ErrSystemBusy},
		{ModeSync, sameQ, faultBusy, 2, same, nil},
		{ModeSync, reselect, faultBusy, 2, other, nil},

		{ModeAsync, dflt, faultBusy, 1, "", ErrSystemBusy}, // Java 5.3.3: broker codes go to the callback
		{ModeAsync, dflt, faultHang, 2, other, nil},
		{ModeAsync, dflt, faultDrop, 2, other, nil},
		{ModeAsync, toQueue, faultBusy, 1, "", ErrSystemBusy},
		{ModeAsync, toQueue, faultDrop, 2, same, nil}, // onExceptionImpl retries the same broker
		{ModeAsync, ordered, faultBusy, 1, "", ErrSystemBusy},
		{ModeAsync, ordered, faultDrop, 2, same, nil},
		{ModeAsync, ordered, faultHang, 1, "", ErrTimeout}, // the whole budget went to the attempt
		{ModeAsync, sameQ, faultBusy, 1, "", ErrSystemBusy},
		{ModeAsync, reselect, faultDrop, 2, other, nil},

		{ModeOneway, dflt, faultDrop, 1, "", nil},
		{ModeOneway, ordered, faultDrop, 1, "", nil},
		{ModeOneway, toQueue, faultBusy, 1, "", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.mode, tc.choice.name, tc.fault), func(t *testing.T) {
			t.Parallel()
			fc, got := faultyCluster(t, tc.fault)
			rec := &attempts{}
			const budget = 2 * time.Second
			p := startFake(t, fc, WithHooks(rec), WithSendTimeout(budget))
			start := time.Now()
			var err error
			switch tc.mode {
			case ModeSync:
				_, err = p.Send(context.Background(), msg("x"), tc.choice.opts(fc)...)
			case ModeAsync:
				done := make(chan error, 2)
				if err := p.SendAsync(context.Background(), msg("x"), func(_ *message.SendResult, err error) { done <- err }, tc.choice.opts(fc)...); err != nil {
					t.Fatal(err)
				}
				err = <-done
				select {
				case err2 := <-done:
					t.Fatalf("callback called twice: %v, then %v", err, err2)
				case <-time.After(50 * time.Millisecond):
				}
			case ModeOneway:
				err = p.SendOneway(context.Background(), msg("x"), tc.choice.opts(fc)...)
				for end := time.Now().Add(5 * time.Second); len(got()) == 0 && time.Now().Before(end); {
					time.Sleep(10 * time.Millisecond) // the fake must read it before we count
				}
				time.Sleep(100 * time.Millisecond) // and a retry, if one were made
			}
			if d := time.Since(start); d > budget+time.Second {
				t.Errorf("returned after %v, budget %v", d, budget)
			}
			switch {
			case tc.want == nil && err != nil && tc.mode != ModeOneway:
				t.Fatalf("err = %v, want success", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// Attempts that reach a broker. (On a loaded machine an attempt may also end before
			// it is sent, waiting for a connection: the After hooks count it, the brokers do not.)
			sent := got()
			if seen := rec.brokers(); len(sent) != tc.attempts || len(seen) < len(sent) {
				t.Fatalf("%d requests at the brokers %v, %d attempts (After hooks); want %d", len(sent), sent, len(seen), tc.attempts)
			}
			if tc.attempts == 2 {
				q0, q1 := sent[0], sent[1]
				switch tc.retryOn {
				case other:
					if q0.BrokerName == q1.BrokerName {
						t.Fatalf("retry stayed on %s", q0.BrokerName)
					}
				case same:
					if q0 != q1 {
						t.Fatalf("retry moved from %v to %v", q0, q1)
					}
				}
			}
		})
	}
}

// A connection that was never made is not a lost one: the broker cannot have the message.
func TestNeverConnectedIsNotConnClosed(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	p := startFake(t, fc)
	fc.brokers["broker-a"].kill()
	_, err := p.Send(context.Background(), msg("x"), ToQueue(message.MessageQueue{BrokerName: "broker-a"}))
	if !errors.Is(err, ErrConnect) || errors.Is(err, ErrConnClosed) || !IsRetriable(err) {
		t.Fatalf("err = %v", err)
	}
	// The default queue choice fails over to the live broker.
	if res, err := p.Send(context.Background(), msg("x")); err != nil || res.Queue.BrokerName != "broker-b" {
		t.Fatalf("res %+v err %v", res, err)
	}
}

// WithTimeout replaces the producer's send timeout, longer or shorter; a context deadline still
// shortens it.
func TestWithTimeoutReplacesTheSendTimeout(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			time.Sleep(300 * time.Millisecond)
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p := startFake(t, fc, WithSendTimeout(100*time.Millisecond))
	if _, err := p.Send(context.Background(), msg("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("producer timeout 100ms, broker 300ms: err = %v", err)
	}
	if _, err := p.Send(context.Background(), msg("x"), WithTimeout(5*time.Second)); err != nil {
		t.Fatalf("WithTimeout(5s): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, msg("x"), WithTimeout(5*time.Second))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx 100ms, WithTimeout(5s): err = %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond+time.Second {
		t.Fatalf("ctx deadline 100ms, returned after %v", d)
	}
	if _, err := p.Send(context.Background(), msg("x"), WithTimeout(0)); !errors.Is(err, ErrValidation) {
		t.Fatalf("WithTimeout(0): %v", err)
	}
}

func TestErrorsMatchTheirCode(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &BrokerError{Code: codec.NoPermission, Broker: "broker-a"})
	if !errors.Is(err, ErrNoPermission) || errors.Is(err, ErrSystemBusy) || !IsRetriable(err) {
		t.Fatalf("NO_PERMISSION: %v", err)
	}
	var ce *CodeError
	if !errors.As(err, &ce) || ce.Code != codec.NoPermission || ce.Name != "NO_PERMISSION" {
		t.Fatalf("As CodeError: %+v", ce)
	}
	if IsRetriable(&BrokerError{Code: codec.MessageIllegal}) || IsRetriable(&BrokerError{Code: 9999}) {
		t.Fatal("MESSAGE_ILLEGAL or an unknown code retriable")
	}
	if errors.Is(&BrokerError{Code: 9999}, ErrSystemError) {
		t.Fatal("unknown code matched a sentinel")
	}
	for c, e := range codeErrors {
		if e.Code != c || e.Name == "" || ErrorForCode(c) != e {
			t.Errorf("code %d: %+v", c, e)
		}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ErrConnClosed, true}, {ErrConnect, true}, {ErrTimeout, true}, {ErrBackpressure, true},
		{ErrValidation, false}, {ErrShutdown, false}, {context.Canceled, false},
		{&ForbiddenError{Hook: "h", Err: errors.New("no")}, false}, {nil, false},
	} {
		if got := IsRetriable(tc.err); got != tc.want {
			t.Errorf("IsRetriable(%v) = %v", tc.err, got)
		}
	}
}

// slowAfter blocks the After hook of messages tagged "slow" until release is closed.
type slowAfter struct {
	started chan struct{}
	release chan struct{}
}

func (h *slowAfter) SendMessageAfter(sc *SendContext) {
	if sc.Message.Tags() == "slow" {
		close(h.started)
		<-h.release
	}
}

// An After hook that blocks holds up neither the responses of other sends on the same connection
// nor their callbacks: hooks run on the callback workers, not on the connection's reader.
func TestSlowAfterHookDoesNotStallTheConnection(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	h := &slowAfter{started: make(chan struct{}), release: make(chan struct{})}
	p := startFake(t, fc, WithHooks(h), WithSendTimeout(5*time.Second))
	defer close(h.release)
	slow := msg("slow")
	slow.SetTags("slow")
	slowDone := make(chan error, 1)
	if err := p.SendAsync(context.Background(), slow, func(_ *message.SendResult, err error) { slowDone <- err }); err != nil {
		t.Fatal(err)
	}
	<-h.started // the slow send's response was read; its After hook now blocks
	if _, err := p.Send(context.Background(), msg("fast sync")); err != nil {
		t.Fatalf("sync send behind a blocked After hook: %v", err)
	}
	fast := make(chan error, 1)
	if err := p.SendAsync(context.Background(), msg("fast async"), func(_ *message.SendResult, err error) { fast <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-fast:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("async callback held up by another send's After hook")
	}
	select {
	case <-slowDone:
		t.Fatal("the slow send completed before its After hook returned")
	default:
	}
}
