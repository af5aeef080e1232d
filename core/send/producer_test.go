package send

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

func startFake(t testing.TB, fc *fakeCluster, opts ...Option) *Producer {
	t.Helper()
	opts = append([]Option{WithNameServers(fc.addr()), WithGroup("fake_group"), WithSendTimeout(2 * time.Second)}, opts...)
	p, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func msg(body string) *message.Message { return message.New("FakeTopic", []byte(body)) }

// attempts records every After hook call.
type attempts struct {
	mu   sync.Mutex
	seen []SendContext
}

func (a *attempts) SendMessageAfter(sc *SendContext) {
	a.mu.Lock()
	a.seen = append(a.seen, *sc)
	a.mu.Unlock()
}

func (a *attempts) brokers() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, s := range a.seen {
		out = append(out, s.Queue.BrokerName)
	}
	return out
}

func TestNewReportsEveryBadOption(t *testing.T) {
	t.Setenv("NAMESRV_ADDR", "")
	_, err := New(WithGroup("bad group!"), WithSendTimeout(-1), WithRetries(-1), WithMaxMessageSize(0),
		WithNamespace("a%b"), WithCredentials(Credentials{AccessKey: "ak"}))
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"NameServer", "group", "timeout", "retry", "max message size", "namespace", "SecretKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := New(WithNameServers("127.0.0.1:1"), WithHooks(struct{}{})); err == nil {
		t.Fatal("a hook with no hook method accepted")
	}
}

func TestLifecycle(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	if _, err := New(WithNameServers(fc.addr())); err == nil || !strings.Contains(err.Error(), "WithGroup") {
		t.Fatalf("no group: %v; Java refuses to start with DEFAULT_PRODUCER", err)
	}
	if _, err := New(WithNameServers(fc.addr()), WithGroup(DefaultGroup)); err == nil {
		t.Fatal("DEFAULT_PRODUCER accepted")
	}
	p, err := New(WithNameServers(fc.addr()), WithGroup("lifecycle"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), msg("x")); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("send before start: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := p.Send(context.Background(), msg("x")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), msg("x")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("send after shutdown: %v", err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("restart after shutdown: %v", err)
	}
	if !strings.Contains(p.ClientID(), "@") {
		t.Fatalf("client id %q", p.ClientID())
	}
}

func TestSyncRetriesOnAnotherBroker(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	busy := fc.brokers["broker-a"]
	busy.setHandler(func(req *codec.Command) *codec.Command { return fakeBrokerAnswer(busy, req, codec.SystemBusy) })
	rec := &attempts{}
	p := startFake(t, fc, WithHooks(rec))
	for i := 0; i < 6; i++ {
		res, err := p.Send(context.Background(), msg("retry me"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue.BrokerName != "broker-b" || res.Status != message.SendOK {
			t.Fatalf("result %+v", res)
		}
	}
	// Every attempt that hit the busy broker was followed by one on the other broker.
	b := rec.brokers()
	for i, name := range b {
		if name == "broker-a" && (i+1 >= len(b) || b[i+1] != "broker-b") {
			t.Fatalf("attempts %v: a failure on broker-a not retried on broker-b", b)
		}
	}
}

func TestNonRetryableCodeFailsAtOnce(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command { return fakeBrokerAnswer(b, req, codec.MessageIllegal) })
	p := startFake(t, fc)
	_, err := p.Send(context.Background(), msg("bad"))
	var be *BrokerError
	if !errors.As(err, &be) || !errors.Is(err, ErrMessageIllegal) || be.Broker != "broker-a" {
		t.Fatalf("err = %v", err)
	}
	if n := b.sends.Load(); n != 1 {
		t.Fatalf("%d attempts for a non-retryable code", n)
	}
}

func TestStoredButNotOKIsAResult(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command { return fakeBrokerAnswer(b, req, codec.FlushDiskTimeoutCode) })
	p := startFake(t, fc)
	res, err := p.Send(context.Background(), msg("x"))
	if err != nil || res.Status != message.FlushDiskTimeout {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestTimeoutBudgetAcrossAttempts(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	for _, b := range fc.brokers {
		b := b
		b.setHandler(func(req *codec.Command) *codec.Command {
			if req.Code == codec.HeartBeat {
				return codec.NewResponse(req, codec.Success, "")
			}
			b.sends.Add(1)
			return nil // never answers a send
		})
	}
	p := startFake(t, fc, WithSendTimeout(300*time.Millisecond))
	start := time.Now()
	_, err := p.Send(context.Background(), msg("x"))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 300*time.Millisecond+time.Second {
		t.Fatalf("gave up after %v, budget 300ms", d)
	}
	// Brokers that answer nothing, not even the first heartbeat: the heartbeat does not add to
	// the budget, and neither does a context deadline far away.
	for _, b := range fc.brokers {
		b.setHandler(func(*codec.Command) *codec.Command { return nil })
	}
	p2 := startFake(t, fc, WithSendTimeout(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start = time.Now()
	if _, err := p2.Send(ctx, msg("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("silent brokers: err = %v", err)
	}
	if d := time.Since(start); d > 300*time.Millisecond+time.Second {
		t.Fatalf("silent brokers: gave up after %v, budget 300ms", d)
	}
	done := make(chan error, 2)
	if err := p.SendAsync(context.Background(), msg("y"), func(_ *message.SendResult, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("async send without answer succeeded")
	}
	select {
	case err := <-done:
		t.Fatalf("callback called twice (second: %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestForbiddenAndBeforeHooks(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	var seenProps atomic.Value
	b.setHandler(func(req *codec.Command) *codec.Command {
		if h, err := codec.DecodeSendMessageRequestHeader(req); err == nil {
			seenProps.Store(h.Properties)
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	stamp := hookFuncs{before: func(sc *SendContext) error { sc.Message.SetProperty("stamped", "yes"); return nil }}
	veto := hookFuncs{forbid: func(sc *SendContext) error {
		if sc.Message.Tags() == "secret" {
			return errors.New("tag secret may not leave")
		}
		return nil
	}}
	p := startFake(t, fc, WithHooks(veto, stamp))
	m := msg("ok")
	if _, err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if props := seenProps.Load().(string); !strings.Contains(props, "stamped\x01yes") {
		t.Fatalf("before hook's property not on the wire: %q", props)
	}
	s := msg("no")
	s.SetTags("secret")
	before := b.sends.Load()
	_, err := p.Send(context.Background(), s)
	var fe *ForbiddenError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "tag secret may not leave") {
		t.Fatalf("err = %v", err)
	}
	if b.sends.Load() != before {
		t.Fatal("a forbidden message reached the broker")
	}
}

type hookFuncs struct {
	before func(*SendContext) error
	forbid func(*SendContext) error
}

func (h hookFuncs) SendMessageBefore(sc *SendContext) error {
	if h.before != nil {
		return h.before(sc)
	}
	return nil
}

func (h hookFuncs) CheckForbidden(sc *SendContext) error {
	if h.forbid != nil {
		return h.forbid(sc)
	}
	return nil
}

func TestAsyncExactlyOnceAcrossBrokerDeath(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	p := startFake(t, fc, WithSendTimeout(3*time.Second))
	const n = 400
	var calls, failures atomic.Int64
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		if i == n/2 {
			fc.brokers["broker-a"].kill()
		}
		err := p.SendAsync(context.Background(), msg("m"), func(_ *message.SendResult, err error) {
			if calls.Add(1) > n {
				t.Error("more callbacks than sends")
			}
			if err != nil {
				failures.Add(1)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if calls.Load() != n {
		t.Fatalf("%d callbacks for %d sends", calls.Load(), n)
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d async sends failed although broker-b was alive all along", f)
	}
}

func TestBackpressureFailFast(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	release := make(chan struct{})
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			<-release
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p := startFake(t, fc, WithAsyncBackpressure(2, 1<<20, false))
	var wg sync.WaitGroup
	wg.Add(2)
	cb := func(*message.SendResult, error) { wg.Done() }
	for i := 0; i < 2; i++ {
		if err := p.SendAsync(context.Background(), msg("x"), cb); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SendAsync(context.Background(), msg("x"), func(*message.SendResult, error) {
		t.Error("callback of a refused send")
	}); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("third send: %v", err)
	}
	close(release)
	wg.Wait()
}

func TestShutdownFailsWhatDoesNotDrain(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			return nil // stalls
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p, err := New(WithNameServers(fc.addr()), WithGroup("drain"), WithSendTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	if err := p.SendAsync(context.Background(), msg("x"), func(_ *message.SendResult, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = p.Shutdown(ctx)
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("stalled send reported success")
		}
	default:
		t.Fatal("Shutdown returned before the callback ran")
	}
}

func TestBatchSplitsByMaxSize(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	var mu sync.Mutex
	var batches []int
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendBatchMessage {
			ms, err := codec.DecodeBatch(req.Body)
			if err != nil {
				return codec.NewResponse(req, codec.MessageIllegal, err.Error())
			}
			if h, _ := codec.DecodeSendMessageRequestHeader(req); strings.Contains(h.Properties, "UNIQ_KEY") {
				return codec.NewResponse(req, codec.MessageIllegal, "wrapper carries a UNIQ_KEY")
			}
			mu.Lock()
			batches = append(batches, len(ms))
			mu.Unlock()
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	var sawBatch, sawPlain atomic.Int64
	batchSeen := hookFuncs{before: func(sc *SendContext) error {
		if sc.Batch {
			sawBatch.Add(1)
		} else {
			sawPlain.Add(1)
		}
		return nil
	}}
	p := startFake(t, fc, WithMaxMessageSize(4096), WithCompression(0, codec.Zlib, 0), WithHooks(batchSeen)) // splitting, not compression
	var msgs []*message.Message
	for i := 0; i < 20; i++ {
		msgs = append(msgs, msg(strings.Repeat("b", 700)))
	}
	res, err := p.SendBatch(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MsgIDs) != 20 || len(batches) < 4 {
		t.Fatalf("ids %d, requests %v", len(res.MsgIDs), batches)
	}
	if sawBatch.Load() < 4 || sawPlain.Load() != 0 {
		t.Fatalf("hooks saw %d batch and %d plain attempts; want every one a batch", sawBatch.Load(), sawPlain.Load())
	}
	if len(res.Messages) != 20 {
		t.Fatalf("%d per-message results for 20 messages", len(res.Messages))
	}
	for i, m := range res.Messages {
		if m.MsgID != res.MsgIDs[i] || m.MsgID != msgs[i].UniqID() {
			t.Fatalf("message %d: result id %s, message id %s", i, m.MsgID, msgs[i].UniqID())
		}
	}
	seen := map[string]bool{}
	for _, id := range res.MsgIDs {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	// Bad batches are refused before anything is sent.
	d := msg("d")
	d.SetSystemProperty(message.PropertyDelayTimeLevel, "3")
	if _, err := p.SendBatch(context.Background(), []*message.Message{msg("a"), d}); !errors.Is(err, codec.ErrValidation) {
		t.Fatalf("delayed batch: %v", err)
	}
	other := message.New("Other", []byte("x"))
	if _, err := p.SendBatch(context.Background(), []*message.Message{msg("a"), other}); !errors.Is(err, codec.ErrValidation) {
		t.Fatalf("mixed topics: %v", err)
	}
}

func TestValidationAtTheEdge(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	p := startFake(t, fc)
	for name, m := range map[string]*message.Message{
		"bad topic":  message.New("a b", []byte("x")),
		"empty body": message.New("T", nil),
		"separator":  {Topic: "T", Body: []byte("x"), Properties: map[string]string{"k\x01": "v"}},
	} {
		if _, err := p.Send(context.Background(), m); !errors.Is(err, codec.ErrValidation) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if fc.brokers["broker-a"].sends.Load() != 0 {
		t.Fatal("invalid messages reached the broker")
	}
}

func TestOnewayIsSentOnceAndNotRetried(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	got := make(chan *codec.Command, 4)
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			got <- req
			return nil
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	rec := &attempts{}
	p := startFake(t, fc, WithHooks(rec))
	if err := p.SendOneway(context.Background(), msg("fire and forget")); err != nil {
		t.Fatal(err)
	}
	if r := <-got; !r.IsOneway() {
		t.Fatalf("flag %d lacks the oneway bit", r.Flag)
	}
	if len(rec.brokers()) != 1 {
		t.Fatalf("after hooks ran %d times", len(rec.brokers()))
	}
}

func TestBatchCompressionLeavesMessagesAlone(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	flags := make(chan int32, 1)
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendBatchMessage {
			h, _ := codec.DecodeSendMessageRequestHeader(req)
			ms, _ := codec.DecodeBatch(req.Body)
			for _, m := range ms {
				if _, err := codec.Decompress(m.Body, codec.CompressionOf(h.SysFlag), 1<<20); err != nil {
					return codec.NewResponse(req, codec.MessageIllegal, "record not compressed: "+err.Error())
				}
			}
			flags <- h.SysFlag
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p := startFake(t, fc, WithCompression(1024, codec.Zstd, 3))
	body := strings.Repeat("squeeze me ", 200)
	msgs := []*message.Message{msg(body), msg(body)}
	if _, err := p.SendBatch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if f := <-flags; f != codec.Zstd.SysFlag() {
		t.Fatalf("batch sysflag %#x, want %#x", f, codec.Zstd.SysFlag())
	}
	for _, m := range msgs {
		if string(m.Body) != body {
			t.Fatal("the caller's message body was replaced")
		}
	}
}

func TestNameServerListsAreSplit(t *testing.T) {
	c := defaultConfig()
	WithNameServers("10.0.0.1:9876; 10.0.0.2:9876", "10.0.0.3:9876")(&c)
	if len(c.nameServers) != 3 || c.nameServers[1] != "10.0.0.2:9876" {
		t.Fatalf("name servers %q", c.nameServers)
	}
	t.Setenv("NAMESRV_ADDR", "a:1;b:2")
	c = defaultConfig()
	c.group = "g"
	if err := c.validate(); err != nil || len(c.nameServers) != 2 {
		t.Fatalf("from NAMESRV_ADDR: %q, %v", c.nameServers, err)
	}
}

func TestRequestAsyncTimesOutOnceWithoutReply(t *testing.T) {
	fc := newFakeCluster(t, "broker-a") // stores requests, nobody replies
	p := startFake(t, fc)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	got := make(chan error, 2)
	if err := p.RequestAsync(ctx, msg("question"), func(_ *message.Message, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	select {
	case err := <-got:
		t.Fatalf("second callback: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// A request that cannot be sent returns its error and never calls back.
	bad := message.New("bad topic!", []byte("x"))
	if err := p.RequestAsync(context.Background(), bad, func(*message.Message, error) { t.Error("callback for an unsent request") }); err == nil {
		t.Fatal("invalid request accepted")
	}
}

type selectorFunc func(*message.Message, []message.MessageQueue, any) (message.MessageQueue, error)

func (f selectorFunc) Select(m *message.Message, qs []message.MessageQueue, arg any) (message.MessageQueue, error) {
	return f(m, qs, arg)
}

// TestAfterHooksRunWhenAnAttemptFailsBeforeItIsSent: once an attempt's Before hooks ran, its After
// hooks run with the error even if the attempt never reaches the broker (a refusing Before hook, a
// failing selector), so what Before opened is closed; a refused forbidden check runs neither.
func TestAfterHooksRunWhenAnAttemptFailsBeforeItIsSent(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	rec := &attempts{}
	refuse := hookFuncs{before: func(sc *SendContext) error {
		if sc.Message.Tags() == "refuse" {
			return errors.New("refused")
		}
		return nil
	}, forbid: func(sc *SendContext) error {
		if sc.Message.Tags() == "forbid" {
			return errors.New("forbidden")
		}
		return nil
	}}
	p := startFake(t, fc, WithHooks(refuse, rec))
	failing := selectorFunc(func(*message.Message, []message.MessageQueue, any) (message.MessageQueue, error) {
		return message.MessageQueue{}, errors.New("no luck")
	})
	m := msg("t")
	if _, err := p.Send(context.Background(), m, WithSelector(failing, nil)); err == nil {
		t.Fatal("selector error not reported")
	}
	m2 := msg("t")
	m2.SetTags("refuse")
	if _, err := p.Send(context.Background(), m2); err == nil {
		t.Fatal("refusing Before hook not reported")
	}
	m3 := msg("t")
	m3.SetTags("forbid")
	if _, err := p.Send(context.Background(), m3); err == nil {
		t.Fatal("forbidden send not reported")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != 2 || rec.seen[0].Err == nil || !strings.Contains(rec.seen[0].Err.Error(), "no luck") ||
		rec.seen[1].Err == nil || !strings.Contains(rec.seen[1].Err.Error(), "refused") {
		t.Fatalf("After hooks saw %d attempts: %+v", len(rec.seen), rec.seen)
	}
}
