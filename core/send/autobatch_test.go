package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// batchBroker answers sends as a broker does: a batch gets the first queue offset of its records
// and one offset id per record, comma-joined; offsets count per queue. It records every request.
type batchBroker struct {
	mu      sync.Mutex
	next    map[int32]int64 // queue id -> next offset
	reqs    []recorded
	code    int32 // answer code for batches (0: success)
	oneways atomic.Int64
}

type recorded struct {
	code    int32
	queueID int32
	records []*message.Message // the batch's records, or the one message
}

func newBatchBroker() *batchBroker { return &batchBroker{next: map[int32]int64{}} }

func (bb *batchBroker) handler(b *fakeServer) func(req *codec.Command) *codec.Command {
	return func(req *codec.Command) *codec.Command {
		if req.Code != codec.SendBatchMessage && req.Code != codec.SendMessageV2 {
			return fakeBrokerAnswer(b, req, codec.Success)
		}
		h, err := codec.DecodeSendMessageRequestHeader(req)
		if err != nil {
			return codec.NewResponse(req, codec.SystemError, err.Error())
		}
		recs := []*message.Message{{Body: req.Body, Properties: codec.DecodeProperties(h.Properties)}}
		if req.Code == codec.SendBatchMessage {
			if recs, err = codec.DecodeBatch(req.Body); err != nil {
				return codec.NewResponse(req, codec.SystemError, err.Error())
			}
		}
		bb.mu.Lock()
		defer bb.mu.Unlock()
		bb.reqs = append(bb.reqs, recorded{code: req.Code, queueID: h.QueueID, records: recs})
		if req.IsOneway() {
			bb.oneways.Add(1)
			return nil
		}
		if bb.code != 0 && req.Code == codec.SendBatchMessage {
			return codec.NewResponse(req, bb.code, "fake batch refusal")
		}
		off := bb.next[h.QueueID]
		bb.next[h.QueueID] = off + int64(len(recs))
		ids := make([]string, len(recs))
		for i := range recs {
			ids[i] = fmt.Sprintf("7F00000100002A9F%08X%08X", h.QueueID, off+int64(i))
		}
		resp := codec.NewResponse(req, codec.Success, "")
		resp.Header = &codec.SendMessageResponseHeader{MsgID: strings.Join(ids, ","), QueueID: h.QueueID,
			QueueOffset: off, RegionID: "DefaultRegion", TraceOn: true}
		return resp
	}
}

func (bb *batchBroker) requests() []recorded {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	return append([]recorded(nil), bb.reqs...)
}

// startBatchFake starts one fake broker answering as batchBroker, and a producer with opts.
func startBatchFake(t *testing.T, opts ...Option) (*Producer, *batchBroker) {
	t.Helper()
	fc := newFakeCluster(t, "broker-a")
	bb := newBatchBroker()
	b := fc.brokers["broker-a"]
	b.setHandler(bb.handler(b))
	return startFake(t, fc, append([]Option{WithAutoBatch(true)}, opts...)...), bb
}

type asyncOutcome struct {
	res   *message.SendResult
	err   error
	calls atomic.Int32
}

// sendAll sends msgs async and waits for every callback; each must come exactly once.
func sendAll(t *testing.T, p *Producer, msgs []*message.Message, opts ...CallOption) []*asyncOutcome {
	t.Helper()
	out := make([]*asyncOutcome, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		o := &asyncOutcome{}
		out[i] = o
		wg.Add(1)
		if err := p.SendAsync(context.Background(), m, func(r *message.SendResult, err error) {
			o.res, o.err = r, err
			if o.calls.Add(1) == 1 {
				wg.Done()
			}
		}, opts...); err != nil {
			t.Fatalf("SendAsync %d: %v", i, err)
		}
	}
	wg.Wait()
	time.Sleep(20 * time.Millisecond) // a second callback would come now
	for i, o := range out {
		if n := o.calls.Load(); n != 1 {
			t.Fatalf("message %d: callback called %d times", i, n)
		}
	}
	return out
}

func bodies(n, size int) []*message.Message {
	msgs := make([]*message.Message, n)
	for i := range msgs {
		body := []byte(fmt.Sprintf("%0*d", size, i))
		msgs[i] = message.New("FakeTopic", body)
		msgs[i].SetTags(fmt.Sprintf("tag%d", i%3))
	}
	return msgs
}

func TestAutoBatchEachMessageItsOwnResult(t *testing.T) {
	p, bb := startBatchFake(t, WithBatchMaxDelay(50*time.Millisecond), WithCompression(0, CompressZlib, 5)) // bodies readable as stored
	msgs := bodies(200, 1000)
	out := sendAll(t, p, msgs)

	reqs := bb.requests()
	var batches, stored int
	byID := map[string]*message.Message{}
	offsets := map[int32]map[int64]string{} // queue -> offset -> uniq id as stored
	for _, r := range reqs {
		if r.code == codec.SendBatchMessage {
			batches++
		}
		first := int64(-1)
		for _, rec := range r.records {
			id := rec.Properties[message.PropertyUniqClientMessageIDKeyIdx]
			byID[id] = rec
			stored++
			if first < 0 {
				first = 0
			}
		}
	}
	if stored != len(msgs) {
		t.Fatalf("broker got %d messages, want %d", stored, len(msgs))
	}
	if batches == 0 || len(reqs) >= len(msgs)/4 {
		t.Fatalf("%d requests (%d batches) for %d messages: not batched", len(reqs), batches, len(msgs))
	}
	// Rebuild what each queue stored, in order, from the requests.
	next := map[int32]int64{}
	for _, r := range reqs {
		if offsets[r.queueID] == nil {
			offsets[r.queueID] = map[int64]string{}
		}
		for _, rec := range r.records {
			offsets[r.queueID][next[r.queueID]] = rec.Properties[message.PropertyUniqClientMessageIDKeyIdx]
			next[r.queueID]++
		}
	}
	seen := map[string]bool{}
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("message %d: %v", i, o.err)
		}
		id := msgs[i].UniqID()
		if id == "" || o.res.MsgID != id || seen[id] {
			t.Fatalf("message %d: result id %q, message id %q (duplicate %v)", i, o.res.MsgID, id, seen[id])
		}
		seen[id] = true
		rec := byID[id]
		if rec == nil || string(rec.Body) != string(msgs[i].Body) || rec.Properties[message.PropertyTags] != msgs[i].Tags() {
			t.Fatalf("message %d: stored record %+v does not carry its own body and tag %q", i, rec, msgs[i].Tags())
		}
		q := int32(o.res.Queue.QueueID)
		if got := offsets[q][o.res.QueueOffset]; got != id {
			t.Fatalf("message %d: result says queue %d offset %d, which holds %q", i, q, o.res.QueueOffset, got)
		}
		want := fmt.Sprintf("7F00000100002A9F%08X%08X", q, o.res.QueueOffset)
		if o.res.OffsetMsgID != want || o.res.Status != message.SendOK || o.res.Queue.Topic != "FakeTopic" {
			t.Fatalf("message %d: result %+v, want offset id %s", i, o.res, want)
		}
	}
}

func TestAutoBatchHooksPerMessage(t *testing.T) {
	var forbidden, before, after atomic.Int32
	var mu sync.Mutex
	afterIDs := map[string]string{} // message id -> result id seen by its After hook
	h := struct {
		CheckForbiddenHook
		SendMessageBeforeHook
		SendMessageAfterHook
	}{
		forbiddenFunc(func(sc *SendContext) error { forbidden.Add(1); return nil }),
		beforeFunc(func(sc *SendContext) error {
			before.Add(1)
			sc.Message.SetProperty("stamped", "yes")
			return nil
		}),
		afterFunc(func(sc *SendContext) {
			after.Add(1)
			mu.Lock()
			defer mu.Unlock()
			if sc.Result != nil {
				afterIDs[sc.Message.UniqID()] = sc.Result.MsgID
			} else {
				afterIDs[sc.Message.UniqID()] = "error: " + fmt.Sprint(sc.Err)
			}
		}),
	}
	p, bb := startBatchFake(t, WithHooks(h))
	msgs := bodies(50, 100)
	out := sendAll(t, p, msgs)
	for i, o := range out {
		if o.err != nil {
			t.Fatal(o.err)
		}
		if afterIDs[msgs[i].UniqID()] != msgs[i].UniqID() {
			t.Fatalf("message %d: its After hook saw %q", i, afterIDs[msgs[i].UniqID()])
		}
	}
	if forbidden.Load() != 50 || before.Load() != 50 || after.Load() != 50 {
		t.Fatalf("hooks ran forbidden %d, before %d, after %d times; want 50 each", forbidden.Load(), before.Load(), after.Load())
	}
	for _, r := range bb.requests() {
		for _, rec := range r.records {
			if rec.Properties["stamped"] != "yes" {
				t.Fatal("a Before hook's property is missing from the stored record")
			}
		}
	}
}

func TestAutoBatchBeforeHookRefusesOneMessage(t *testing.T) {
	refuse := beforeFunc(func(sc *SendContext) error {
		if string(sc.Message.Body) == "bad" {
			return errors.New("no")
		}
		return nil
	})
	p, bb := startBatchFake(t, WithHooks(refuse))
	msgs := []*message.Message{msg("a"), msg("bad"), msg("c")}
	out := sendAll(t, p, msgs)
	var he *HookError
	if !errors.As(out[1].err, &he) || out[0].err != nil || out[2].err != nil {
		t.Fatalf("outcomes %v, %v, %v: want only the refused message to fail with a HookError", out[0].err, out[1].err, out[2].err)
	}
	n := 0
	for _, r := range bb.requests() {
		n += len(r.records)
	}
	if n != 2 {
		t.Fatalf("broker stored %d messages, want 2", n)
	}
}

// Ordered sends: one goroutine's async sends by key reach their queue in the order they were made.
func TestAutoBatchOrderedByKeepsOrder(t *testing.T) {
	// The Before hook would move an unordered async send to a callback worker; an ordered one
	// stays on the caller's goroutine.
	stamp := beforeFunc(func(sc *SendContext) error { sc.Message.SetProperty("seen", "1"); return nil })
	p, bb := startBatchFake(t, WithBatchMaxBytes(500), WithHooks(stamp))
	msgs := bodies(300, 100)
	for _, m := range msgs {
		m.SetTags("")
	}
	out := sendAll(t, p, msgs, OrderedBy("order-42"))
	var got []string
	for _, r := range bb.requests() {
		for _, rec := range r.records {
			got = append(got, string(rec.Body))
		}
	}
	if len(got) != len(msgs) {
		t.Fatalf("stored %d, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if got[i] != string(msgs[i].Body) {
			t.Fatalf("position %d holds %q, want %q: order broken", i, got[i], msgs[i].Body)
		}
		if i > 0 && out[i].res.QueueOffset != out[i-1].res.QueueOffset+1 {
			t.Fatalf("offsets %d then %d", out[i-1].res.QueueOffset, out[i].res.QueueOffset)
		}
	}
}

// Sync and oneway sends, and messages Java's canBatch refuses, are never held.
func TestAutoBatchWhatIsNeverHeld(t *testing.T) {
	p, bb := startBatchFake(t, WithBatchMaxDelay(30*time.Second))
	ctx := context.Background()
	start := time.Now()
	if _, err := p.Send(ctx, msg("sync")); err != nil {
		t.Fatal(err)
	}
	if err := p.SendOneway(ctx, msg("oneway")); err != nil {
		t.Fatal(err)
	}
	delayed := msg("delayed")
	delayed.SetDelayLevel(3)
	grouped := msg("pgroup")
	grouped.SetTags("t")
	grouped.Properties[message.PropertyProducerGroup] = "g"
	sendAll(t, p, []*message.Message{delayed, grouped})
	if time.Since(start) > 20*time.Second {
		t.Fatal("a send waited for the batch delay")
	}
	for _, r := range bb.requests() {
		if r.code != codec.SendMessageV2 {
			t.Fatalf("request code %d: a message that must go alone was batched", r.code)
		}
	}
	if len(bb.requests()) != 4 {
		t.Fatalf("%d requests, want 4", len(bb.requests()))
	}
}

func TestAutoBatchTotalBoundSendsUnbatched(t *testing.T) {
	p, bb := startBatchFake(t, WithTotalBatchMaxBytes(1), WithBatchMaxDelay(200*time.Millisecond))
	sendAll(t, p, bodies(3, 10))
	// The first message takes the whole bound; the two after it go alone at once.
	var single, batched int
	for _, r := range bb.requests() {
		if r.code == codec.SendBatchMessage {
			batched += len(r.records)
		} else {
			single++
		}
	}
	if single != 2 || batched != 1 {
		t.Fatalf("%d sent alone, %d batched; want 2 and 1", single, batched)
	}
}

func TestAutoBatchBrokerErrorReachesEveryMember(t *testing.T) {
	p, bb := startBatchFake(t)
	bb.code = codec.SystemBusy
	out := sendAll(t, p, bodies(10, 10))
	for i, o := range out {
		if !errors.Is(o.err, ErrSystemBusy) || o.res != nil {
			t.Fatalf("message %d: %v, want ErrSystemBusy", i, o.err)
		}
	}
}

func TestAutoBatchHeldMessageKeepsItsBudget(t *testing.T) {
	p, bb := startBatchFake(t, WithBatchMaxDelay(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	cb := func(_ *message.SendResult, err error) { done <- err }
	if err := p.SendAsync(ctx, msg("cancelled"), cb); err != nil {
		t.Fatal(err)
	}
	if err := p.SendAsync(context.Background(), msg("short"), cb, WithTimeout(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	cancel()
	var errs []error
	for range 2 {
		errs = append(errs, <-done)
	}
	if !errors.Is(errs[0], context.Canceled) && !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("errors %v: want one context.Canceled", errs)
	}
	if !errors.Is(errs[0], ErrTimeout) && !errors.Is(errs[1], ErrTimeout) {
		t.Fatalf("errors %v: want one ErrTimeout", errs)
	}
	if n := len(bb.requests()); n != 0 {
		t.Fatalf("%d requests sent for messages that ended while held", n)
	}
}

func TestAutoBatchShutdownSendsHeldMessages(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	bb := newBatchBroker()
	b := fc.brokers["broker-a"]
	b.setHandler(bb.handler(b))
	p, err := New(WithNameServers(fc.addr()), WithGroup("fake_group"), WithAutoBatch(true), WithBatchMaxDelay(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int32
	for i := 0; i < 5; i++ {
		if err := p.SendAsync(context.Background(), msg("held"), func(_ *message.SendResult, err error) {
			if err == nil {
				ok.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 5 || len(bb.requests()) != 1 {
		t.Fatalf("%d of 5 held messages stored, in %d requests; want 5 in 1", ok.Load(), len(bb.requests()))
	}
}

func TestAutoBatchOptionsChecked(t *testing.T) {
	_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithBatchMaxDelay(0), WithBatchMaxBytes(3<<20),
		WithTotalBatchMaxBytes(0))
	for _, want := range []string{"batch max delay", "batch max bytes", "total batch max bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("New: %v; want an error naming %q", err, want)
		}
	}
}

type beforeFunc func(*SendContext) error

func (f beforeFunc) SendMessageBefore(sc *SendContext) error { return f(sc) }

type afterFunc func(*SendContext)

func (f afterFunc) SendMessageAfter(sc *SendContext) { f(sc) }

type forbiddenFunc func(*SendContext) error

func (f forbiddenFunc) CheckForbidden(sc *SendContext) error { return f(sc) }

// One goroutine's async sends run their Before hooks concurrently, on the callback workers, so a
// plugin's instance pool is used; without hooks a send starts on the caller's goroutine.
func TestAsyncBeforeHooksRunConcurrently(t *testing.T) {
	var active, most atomic.Int32
	slow := beforeFunc(func(*SendContext) error {
		n := active.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		active.Add(-1)
		return nil
	})
	fc := newFakeCluster(t, "broker-a")
	p := startFake(t, fc, WithHooks(slow), WithCallbackWorkers(4))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		if err := p.SendAsync(context.Background(), msg("x"), func(_ *message.SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if most.Load() < 2 {
		t.Fatalf("at most %d Before hooks ran at once for 8 sends from one goroutine; want them concurrent", most.Load())
	}
}

// A body over the compression threshold is stored compressed, batched or not; a smaller one is
// not, even when its batch adds up to more: they travel in separate batches.
func TestAutoBatchCompressionAsIfAlone(t *testing.T) {
	p, bb := startBatchFake(t, WithCompression(1000, CompressZlib, 5))
	var msgs []*message.Message
	for i := 0; i < 20; i++ {
		n := 100
		if i%2 == 0 {
			n = 2000
		}
		msgs = append(msgs, message.New("FakeTopic", []byte(strings.Repeat("z", n))))
	}
	sendAll(t, p, msgs)
	var big, small int
	for _, r := range bb.requests() {
		if r.code != codec.SendBatchMessage {
			t.Fatalf("request code %d, want batches", r.code)
		}
		for _, rec := range r.records {
			switch len(rec.Body) {
			case 100:
				small++
			case 2000:
				t.Fatal("a body over the threshold was stored uncompressed")
			default:
				big++ // compressed
			}
		}
	}
	if big != 10 || small != 10 {
		t.Fatalf("%d compressed and %d plain records, want 10 and 10", big, small)
	}
}

// A batch that cannot be made (here: one message whose batch record is over the maximum size)
// fails its messages, and frees their in-flight room: with room for one, the next send fits.
func TestAutoBatchFailedBatchFreesRoom(t *testing.T) {
	p, _ := startBatchFake(t, WithMaxMessageSize(1000), WithAsyncBackpressure(1, 1<<20, false), WithBatchMaxDelay(5*time.Millisecond))
	for i := 0; i < 3; i++ {
		out := sendAll(t, p, []*message.Message{message.New("FakeTopic", make([]byte, 990))})
		if !errors.Is(out[0].err, codec.ErrValidation) {
			t.Fatalf("send %d: %v, want a validation error (the record is over 1000 bytes)", i, out[0].err)
		}
	}
	if out := sendAll(t, p, []*message.Message{msg("small")}); out[0].err != nil {
		t.Fatal(out[0].err)
	}
}

// Callbacks of held messages run on the callback workers, never on the flusher: a callback that
// blocks does not hold up the batches behind it. Here every callback of the first batch blocks
// until the second batch's callbacks ran.
func TestAutoBatchCallbacksNotOnTheFlusher(t *testing.T) {
	p, _ := startBatchFake(t, WithBatchMaxDelay(50*time.Millisecond), WithCallbackWorkers(8))
	ctx, cancel := context.WithCancel(context.Background())
	gate := make(chan struct{})
	done := make(chan error, 3)
	// Cancelled while held: it fails at the flush, and its callback blocks until the next one ran.
	if err := p.SendAsync(ctx, msg("first"), func(_ *message.SendResult, err error) { <-gate; done <- err }); err != nil {
		t.Fatal(err)
	}
	cancel()                           // well within the 50 ms the message is held
	time.Sleep(100 * time.Millisecond) // its batch has been flushed: the second opens another
	if err := p.SendAsync(context.Background(), msg("second"), func(_ *message.SendResult, err error) { close(gate); done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the second message: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second batch waited for the first batch's blocked callback")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the first message: %v, want context.Canceled", err)
	}
}

// keptRequests is an RPC hook that keeps every batch request it is shown, body and all, without
// copying: a user's hook may, so the producer must not reuse a body such a hook saw.
type keptRequests struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (k *keptRequests) BeforeRequest(_ string, req *codec.Command) error {
	if req.Code == codec.SendBatchMessage {
		k.mu.Lock()
		k.bodies = append(k.bodies, req.Body)
		k.mu.Unlock()
	}
	return nil
}

func (*keptRequests) AfterResponse(string, *codec.Command, *codec.Command, error) {}

// TestAutoBatchReusesBatchesSafely sends rounds of batches one after the other, so that later
// batches reuse the buffers of earlier ones: the broker stores each message once, as sent, and a
// body an RPC hook kept still holds what it held when it was sent.
func TestAutoBatchReusesBatchesSafely(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		t.Run(fmt.Sprintf("rpc_hook=%v", hooked), func(t *testing.T) {
			kept := &keptRequests{}
			opts := []Option{WithBatchMaxBytes(2000), WithBatchMaxDelay(5 * time.Millisecond)}
			if hooked {
				opts = append(opts, WithRPCHooks(kept))
			}
			p, bb := startBatchFake(t, opts...)
			want := map[string]string{} // uniq id -> body
			for round := 0; round < 5; round++ {
				msgs := bodies(40, 300)
				for i, m := range msgs {
					m.Body = []byte(fmt.Sprintf("round %d message %d %s", round, i, m.Body))
				}
				for i, o := range sendAll(t, p, msgs) {
					if o.err != nil {
						t.Fatalf("round %d message %d: %v", round, i, o.err)
					}
					want[msgs[i].UniqID()] = string(msgs[i].Body)
				}
			}
			check := func(what string, recs []*message.Message) map[string]bool {
				seen := map[string]bool{}
				for _, rec := range recs {
					id := rec.Properties[message.PropertyUniqClientMessageIDKeyIdx]
					if seen[id] || want[id] != string(rec.Body) {
						t.Fatalf("%s: message %s seen before (%v) or with body %q, want %q", what, id, seen[id], rec.Body, want[id])
					}
					seen[id] = true
				}
				if len(seen) != len(want) {
					t.Fatalf("%s: %d messages, want %d", what, len(seen), len(want))
				}
				return seen
			}
			var stored []*message.Message
			batches := 0
			for _, r := range bb.requests() {
				stored = append(stored, r.records...)
				if r.code == codec.SendBatchMessage {
					batches++
				}
			}
			if batches < 20 {
				t.Fatalf("%d batches for 200 messages of about 320 B with 2000 B batches", batches)
			}
			check("stored", stored)
			if hooked {
				var shown []*message.Message
				for _, body := range kept.bodies {
					recs, err := codec.DecodeBatch(body)
					if err != nil {
						t.Fatal(err)
					}
					shown = append(shown, recs...)
				}
				check("kept by the RPC hook", shown)
			}
		})
	}
}

// TestAutoBatchLeftoverTimerFiring: a reused batch's timer may fire for its earlier use after the
// batch opened again (the firing waited for the lock); that firing does not close it early.
func TestAutoBatchLeftoverTimerFiring(t *testing.T) {
	p, _ := startBatchFake(t, WithBatchMaxDelay(30*time.Second))
	a := p.acc
	key := batchKey{topic: "FakeTopic"}
	a.mu.Lock()
	b := a.openLocked(key)
	a.mu.Unlock()
	a.expire(b) // as a firing left from an earlier use would
	a.mu.Lock()
	open := a.open[key] == b
	b.due = time.Now() // the delay ends: the next firing closes it
	a.mu.Unlock()
	if !open {
		t.Fatal("a firing before the batch's delay ended closed it")
	}
	a.expire(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open[key] == b {
		t.Fatal("the firing at the end of the delay left the batch open")
	}
}

// TestAutoBatchHookMayKeepItsSendContext: the producer reuses a held message's call (and its
// SendContext) once its outcome is delivered, but only when no hook was shown it: an After hook
// that keeps the *SendContext of every message still reads each one's own message and result
// after later sends.
func TestAutoBatchHookMayKeepItsSendContext(t *testing.T) {
	var mu sync.Mutex
	var kept []*SendContext
	keep := struct {
		SendMessageBeforeHook
		SendMessageAfterHook
	}{
		beforeFunc(func(*SendContext) error { return nil }),
		afterFunc(func(sc *SendContext) {
			mu.Lock()
			kept = append(kept, sc)
			mu.Unlock()
		}),
	}
	p, _ := startBatchFake(t, WithHooks(keep), WithBatchMaxBytes(2000), WithBatchMaxDelay(5*time.Millisecond))
	var msgs []*message.Message
	for round := 0; round < 4; round++ {
		round := bodies(40, 300)
		for i, o := range sendAll(t, p, round) {
			if o.err != nil {
				t.Fatalf("message %d: %v", i, o.err)
			}
		}
		msgs = append(msgs, round...)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != len(msgs) {
		t.Fatalf("After hook ran %d times for %d messages", len(kept), len(msgs))
	}
	seen := map[*message.Message]bool{}
	for i, sc := range kept {
		if sc.Message == nil || sc.Result == nil || sc.Result.MsgID != sc.Message.UniqID() || seen[sc.Message] {
			t.Fatalf("kept SendContext %d no longer describes its own send: %+v", i, sc)
		}
		seen[sc.Message] = true
	}
}

// TestAutoBatchAfterHookWithoutBeforeHook: an After hook runs for every auto-batched message
// even when no Before hook does (the message trace hook is such a hook), with the message's own
// result, or the batch's error, as for an unbatched send.
func TestAutoBatchAfterHookWithoutBeforeHook(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]string{} // message id -> result id or error, as the After hook saw it
			after := afterFunc(func(sc *SendContext) {
				mu.Lock()
				defer mu.Unlock()
				if sc.Result != nil {
					seen[sc.Message.UniqID()] = sc.Result.MsgID
				} else {
					seen[sc.Message.UniqID()] = "error: " + fmt.Sprint(sc.Err)
				}
			})
			p, bb := startBatchFake(t, WithHooks(after))
			if fail {
				bb.code = codec.SystemBusy
			}
			msgs := bodies(30, 100)
			out := sendAll(t, p, msgs)
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != len(msgs) {
				t.Fatalf("the After hook saw %d of %d messages", len(seen), len(msgs))
			}
			for i, o := range out {
				id := msgs[i].UniqID()
				if (o.err != nil) != fail || (!fail && seen[id] != id) || (fail && !strings.Contains(seen[id], "error: ")) {
					t.Fatalf("message %d: outcome %v, its After hook saw %q", i, o.err, seen[id])
				}
			}
		})
	}
}
