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

// The fault matrix: every answer a broker can give to a send (each response code, a connection
// reset in the middle of the response, a hang-up, no answer at all) crossed with every kind of
// send (sync, async, oneway) and every way of choosing the queue (default, selector, explicit
// queue, batch). Each cell states the number of attempts, the broker of each, the outcome (result
// or error, matched with errors.Is/As), that an async callback runs exactly once, and that the
// send kept its time budget. The expected outcome of a cell is derived in one place, want, from
// the rules table of docs/producer.md; the fake broker is only the fault injector.

// Codes a broker can answer a send with: every code of RemotingSysResponseCode/ResponseCode a
// send can meet, and one no release defines.
var matrixCodes = []int32{
	codec.Success, codec.SystemError, codec.SystemBusy, codec.RequestCodeNotSupported, codec.TransactionFailed,
	codec.FlushDiskTimeoutCode, codec.SlaveNotAvailableCode, codec.FlushSlaveTimeoutCode, codec.MessageIllegal,
	codec.ServiceNotAvailable, codec.VersionNotSupported, codec.NoPermission, codec.TopicNotExist,
	codec.TopicExistAlready, codec.InvalidParameter, codec.NoBuyerID, codec.NotInCurrentUnit,
	215 /* FLOW_CONTROL */, 501 /* NOT_LEADER_FOR_QUEUE */, 604 /* ILLEGAL_OPERATION */, codec.GoAway,
	777, // unknown
}

// mxFault is what the faulty broker does with a send request instead of storing it.
type mxFault struct {
	name  string
	code  int32 // answer with this code (when the others are unset)
	reset bool  // write half the answer, then reset the connection
	drop  bool  // close the connection on receiving the request, no answer
	stall bool  // never answer (the broker accepts and reads, nothing more)
}

func (f mxFault) String() string { return f.name }

// transport reports whether the fault is a failure of the connection, not a broker's answer.
func (f mxFault) transport() bool { return f.reset || f.drop || f.stall }

func matrixFaults() []mxFault {
	var fs []mxFault
	for _, c := range matrixCodes {
		n := codec.ResponseCodeName(c)
		if n == "" {
			n = fmt.Sprintf("CODE_%d", c)
		}
		fs = append(fs, mxFault{name: n, code: c})
	}
	return append(fs,
		mxFault{name: "reset-mid-response", reset: true},
		mxFault{name: "hang-up", drop: true},
		mxFault{name: "no-answer", stall: true},
	)
}

// how says which sends meet the fault: the first attempt of the send only, or every attempt.
type how int

const (
	firstAttempt how = iota
	everyAttempt
)

func (h how) String() string { return [...]string{"first", "every"}[h] }

// sendKind is one column of the matrix: a send mode and a way to choose the queue.
type sendKind struct {
	mode Mode
	// "default", "selector", "ordered" (OrderedBy), "factory" (WithQueueSelector, as a plugin
	// selector is installed), "queue" (ToQueue), "batch"; "selector+same" and "selector+reselect"
	// are selectors that opt in to retries (WithRetry).
	choice string
}

func (k sendKind) String() string {
	return fmt.Sprintf("%s/%s", [...]string{ModeSync: "sync", ModeAsync: "async", ModeOneway: "oneway"}[k.mode], k.choice)
}

// matrixKinds: every mode with every queue choice; batches exist as sync sends only.
var matrixKinds = func() []sendKind {
	var ks []sendKind
	for _, m := range []Mode{ModeSync, ModeAsync, ModeOneway} {
		for _, c := range []string{"default", "selector", "ordered", "factory", "selector+same", "selector+reselect", "queue"} {
			ks = append(ks, sendKind{m, c})
		}
	}
	return append(ks, sendKind{ModeSync, "batch"})
}()

// expected is a cell's outcome.
type expected struct {
	attempts  int                // exact number of requests the brokers received; 0: at least 1 (a hung broker)
	ok        bool               // a result, no error
	status    message.SendStatus // the result's status when ok
	failover  bool               // each attempt on another broker than the one before
	sameQueue bool               // every attempt on the first attempt's queue
	timeout   bool               // the error matches ErrTimeout
}

// Defaults of the producer under test (startFake): retries as Java's defaults.
const (
	matrixRetries = 2               // 1 + 2 attempts
	matrixBudget  = 2 * time.Second // of a send that meets a hung broker: it is waited out
	// answerBudget is the budget of the sends that get an answer: long enough that no answer
	// misses it on a starved machine, which would turn a broker's code into a timeout.
	answerBudget = 5 * time.Second
	// budgetSlack is the design's bound (deadline + 100 ms) plus room for a starved machine: a
	// bound on a deadline, not a timing assertion. At a load average of 170 on the 2-core test
	// machine a plain 10 ms time.Sleep overslept by up to 200 ms, and the transport's deadline
	// timer fired up to 750 ms late.
	budgetSlack = 100*time.Millisecond + 900*time.Millisecond
)

// want is the rules table of docs/producer.md ("Retry rules"), as a function of the fault, the
// send and where the fault strikes.
func want(f mxFault, k sendKind, h how) expected {
	if k.mode == ModeOneway {
		return expected{attempts: 1, ok: true} // written once, never answered, never retried
	}
	if !f.transport() {
		switch f.code {
		case codec.Success:
			return expected{attempts: 1, ok: true, status: message.SendOK}
		case codec.FlushDiskTimeoutCode:
			return expected{attempts: 1, ok: true, status: message.FlushDiskTimeout}
		case codec.FlushSlaveTimeoutCode:
			return expected{attempts: 1, ok: true, status: message.FlushSlaveTimeout}
		case codec.SlaveNotAvailableCode:
			return expected{attempts: 1, ok: true, status: message.SlaveNotAvailable}
		}
	}
	// Java: sendDefaultImpl fails over to another broker; sendSelectImpl and send(msg, mq) send
	// once; an async send retries only what its transport lost (onExceptionImpl), on the queue
	// it chose.
	// A selector that opts in retries as the default choice does (reselect) or on its queue (same).
	reselects := k.choice == "default" || k.choice == "batch" || k.choice == "selector+reselect"
	retriesSync := reselects || k.choice == "selector+same"
	var retries, failover bool
	switch {
	case f.transport() && k.mode == ModeAsync:
		retries, failover = true, reselects
	case f.transport():
		retries, failover = retriesSync, reselects
	default: // a broker's answer
		retries, failover = k.mode == ModeSync && retriesSync && retriableCode(f.code), reselects
	}
	same := retries && !failover
	if f.stall {
		// A hung broker: an attempt that a retry on another broker may follow gets half of what
		// is left of the budget; otherwise it gets all of it.
		switch {
		case retries && failover && h == firstAttempt:
			return expected{ok: true, status: message.SendOK, failover: true}
		case retries && failover:
			return expected{timeout: true, failover: true}
		}
		return expected{attempts: 1, timeout: true}
	}
	switch {
	case !retries:
		return expected{attempts: 1}
	case h == firstAttempt:
		return expected{attempts: 2, ok: true, status: message.SendOK, failover: failover, sameQueue: same}
	default:
		return expected{attempts: 1 + matrixRetries, failover: failover, sameQueue: same}
	}
}

// retriableCode is Java's DefaultMQProducer.retryResponseCodes.
func retriableCode(c int32) bool {
	switch c {
	case codec.TopicNotExist, codec.ServiceNotAvailable, codec.SystemError, codec.SystemBusy,
		codec.NoPermission, codec.NoBuyerID, codec.NotInCurrentUnit, codec.GoAway:
		return true
	}
	return false
}

// attempt is one send request a fake broker received.
type attempt struct {
	broker string
	queue  int32
	oneway bool
}

// journal records every send request of a fake cluster in arrival order.
type journal struct {
	mu   sync.Mutex
	sent []attempt
}

func (j *journal) add(a attempt) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sent = append(j.sent, a)
	return len(j.sent)
}

func (j *journal) all() []attempt {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]attempt(nil), j.sent...)
}

// inject makes the brokers of fc meet f on the sends h says, and answer the others with success.
// A stalled broker answers nothing at all, heartbeats included, as a SIGSTOPped one.
func inject(fc *fakeCluster, f mxFault, h how) *journal {
	j := &journal{}
	var hung sync.Map // broker name -> true once it stalled
	for name, b := range fc.brokers {
		name, b := name, b
		b.setHandler(func(req *codec.Command) *codec.Command {
			if _, ok := hung.Load(name); ok {
				return nil
			}
			switch req.Code {
			case codec.SendMessageV2, codec.SendBatchMessage, codec.SendMessage:
			default:
				return fakeBrokerAnswer(b, req, codec.Success)
			}
			var q int32
			if hd, err := codec.DecodeSendMessageRequestHeader(req); err == nil {
				q = hd.QueueID
			}
			n := j.add(attempt{broker: name, queue: q, oneway: req.IsOneway()})
			if h == firstAttempt && n > 1 {
				return fakeBrokerAnswer(b, req, codec.Success)
			}
			switch {
			case f.stall:
				hung.Store(name, true)
				return nil
			case f.drop:
				return dropConn
			case f.reset:
				return b.cut(fakeBrokerAnswer(b, req, codec.Success))
			}
			return fakeBrokerAnswer(b, req, f.code)
		})
	}
	return j
}

// pickFirst is the natural port of a Java MessageQueueSelector: the queue the argument names.
var pickFirst = QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, arg any) (message.MessageQueue, error) {
	return qs[arg.(int)%len(qs)], nil
})

// pickThird is a producer-wide selector: always the third queue of the list.
var pickThird = QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
	return qs[2%len(qs)], nil
})

// outcome is what one send of the matrix gave.
type outcome struct {
	res       *message.SendResult
	err       error
	elapsed   time.Duration
	callbacks *atomic.Int32 // async: calls of the callback
}

// sendOnce sends one message of kind k and waits for its outcome.
func sendOnce(t *testing.T, p *Producer, k sendKind) outcome {
	t.Helper()
	ctx := context.Background()
	var opts []CallOption
	switch k.choice {
	case "selector":
		opts = append(opts, WithSelector(pickFirst, 1))
	case "ordered":
		opts = append(opts, OrderedBy("order-1"))
	case "selector+same":
		opts = append(opts, WithSelector(WithRetry(pickFirst, RetrySameQueue), 1))
	case "selector+reselect":
		opts = append(opts, WithSelector(WithRetry(pickFirst, RetryReselect), 1))
	case "queue":
		opts = append(opts, ToQueue(message.MessageQueue{Topic: "FakeTopic", BrokerName: "broker-a", QueueID: 1}))
	}
	m := msg("matrix")
	start := time.Now()
	switch {
	case k.choice == "batch":
		br, err := p.SendBatch(ctx, []*message.Message{msg("b1"), msg("b2")}, opts...)
		o := outcome{err: err, elapsed: time.Since(start)}
		if err == nil {
			if len(br.Results) != 1 {
				t.Fatalf("a two-message batch was sent as %d requests", len(br.Results))
			}
			o.res = br.Results[0]
		}
		return o
	case k.mode == ModeSync:
		res, err := p.Send(ctx, m, opts...)
		return outcome{res: res, err: err, elapsed: time.Since(start)}
	case k.mode == ModeOneway:
		err := p.SendOneway(ctx, m, opts...)
		return outcome{err: err, elapsed: time.Since(start)}
	}
	o := outcome{callbacks: &atomic.Int32{}}
	type cbOut struct {
		res *message.SendResult
		err error
		at  time.Time
	}
	got := make(chan cbOut, 4)
	err := p.SendAsync(ctx, m, func(res *message.SendResult, err error) {
		o.callbacks.Add(1)
		got <- cbOut{res, err, time.Now()}
	}, opts...)
	if err != nil {
		t.Fatalf("SendAsync refused the send: %v", err)
	}
	select {
	case r := <-got:
		o.res, o.err, o.elapsed = r.res, r.err, r.at.Sub(start)
	case <-time.After(answerBudget + 5*time.Second):
		t.Fatalf("no callback %v after the send's deadline", 5*time.Second)
	}
	return o
}

func TestFaultMatrix(t *testing.T) {
	for _, f := range matrixFaults() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			for _, k := range matrixKinds {
				for _, h := range []how{firstAttempt, everyAttempt} {
					if f.code == codec.Success && !f.transport() && h == everyAttempt {
						continue // the same cell as "first"
					}
					t.Run(fmt.Sprintf("%v/%v", k, h), func(t *testing.T) {
						if f.stall {
							t.Parallel() // each waits out its budget and a shutdown beside a hung broker
						}
						runCell(t, f, k, h)
					})
				}
			}
		})
	}
}

func runCell(t *testing.T, f mxFault, k sendKind, h how) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	j := inject(fc, f, h)
	budget := answerBudget
	if f.stall {
		budget = matrixBudget
	}
	opts := []Option{WithSendTimeout(budget), WithRetries(matrixRetries), WithAsyncRetries(matrixRetries)}
	if k.choice == "factory" { // a producer-wide selector, as a plugin selector is installed
		opts = append(opts, WithQueueSelector(SelectorFactoryFunc(func(string) QueueSelector { return pickThird })))
	}
	p := startFake(t, fc, opts...)
	w := want(f, k, h)
	o := sendOnce(t, p, k)
	if k.mode == ModeOneway {
		waitAttempts(j, 1)
	}
	// Shutdown waits for every callback, so a second one would be counted below.
	if err := p.Shutdown(context.Background()); err != nil {
		t.Logf("shutdown: %v", err)
	}
	got := j.all()
	desc := fmt.Sprintf("fault %v, %v, %v: attempts %v, res %+v, err %v", f, k, h, got, o.res, o.err)

	// the budget
	if o.elapsed > budget+budgetSlack {
		t.Errorf("%s\nreturned after %v, over the %v budget", desc, o.elapsed, budget)
	}
	if o.callbacks != nil && o.callbacks.Load() != 1 {
		t.Errorf("%s\ncallback called %d times", desc, o.callbacks.Load())
	}

	// attempts and brokers
	switch {
	case w.attempts > 0 && len(got) != w.attempts:
		t.Errorf("%s\n%d attempts, want %d", desc, len(got), w.attempts)
	case len(got) == 0:
		t.Fatalf("%s\nno attempt reached a broker", desc)
	}
	for i := 1; w.failover && i < len(got); i++ {
		if got[i].broker == got[i-1].broker {
			t.Errorf("%s\nattempt %d went to %s again, want the other broker", desc, i+1, got[i].broker)
		}
	}
	for i := 1; w.sameQueue && i < len(got); i++ {
		if got[i] != got[0] {
			t.Errorf("%s\nattempt %d went to %s/%d, want the first attempt's queue %s/%d", desc, i+1, got[i].broker, got[i].queue, got[0].broker, got[0].queue)
		}
	}
	for _, a := range got {
		if a.oneway != (k.mode == ModeOneway) {
			t.Errorf("%s\noneway flag %v on a %v send", desc, a.oneway, k.mode)
		}
		if k.choice == "queue" && (a.broker != "broker-a" || a.queue != 1) {
			t.Errorf("%s\nan explicit-queue send went to %s/%d, not broker-a/1", desc, a.broker, a.queue)
		}
	}
	if strings.HasPrefix(k.choice, "selector") && len(got) > 0 && got[0].queue != 1 {
		t.Errorf("%s\nthe selector chose queue 1, the send went to %d", desc, got[0].queue)
	}
	if k.choice == "factory" && len(got) > 0 && got[0].queue != 2 {
		t.Errorf("%s\nthe producer's selector chose queue 2, the send went to %d", desc, got[0].queue)
	}

	// the outcome
	if w.ok {
		if o.err != nil {
			t.Fatalf("%s\nwant success", desc)
		}
		if k.mode == ModeOneway {
			return
		}
		if o.res == nil || o.res.Status != w.status {
			t.Fatalf("%s\nwant status %v", desc, w.status)
		}
		if last := got[len(got)-1]; o.res.Queue.BrokerName != last.broker {
			t.Errorf("%s\nresult names broker %s, the last attempt went to %s", desc, o.res.Queue.BrokerName, last.broker)
		}
		return
	}
	if o.err == nil {
		t.Fatalf("%s\nwant an error", desc)
	}
	checkMatrixErr(t, desc, f, w, o.err, got)
}

// checkMatrixErr checks that a failed send's error says what happened, through the send
// package's own API only.
func checkMatrixErr(t *testing.T, desc string, f mxFault, w expected, err error, got []attempt) {
	t.Helper()
	if w.timeout || f.stall {
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("%s\na timeout does not match ErrTimeout", desc)
		}
		if !IsRetriable(err) {
			t.Errorf("%s\nIsRetriable false for a timeout", desc)
		}
		return
	}
	if f.transport() {
		if !errors.Is(err, ErrConnClosed) || errors.Is(err, ErrConnect) {
			t.Errorf("%s\na connection lost with the request in flight must match ErrConnClosed, not ErrConnect", desc)
		}
		if !IsRetriable(err) {
			t.Errorf("%s\nIsRetriable false for a lost connection", desc)
		}
		return
	}
	var be *BrokerError
	if !errors.As(err, &be) {
		t.Fatalf("%s\nnot a *BrokerError", desc)
	}
	if be.Code != f.code {
		t.Errorf("%s\nBrokerError code %d, want %d", desc, be.Code, f.code)
	}
	if last := got[len(got)-1]; be.Broker != last.broker {
		t.Errorf("%s\nBrokerError names %s, the last attempt went to %s", desc, be.Broker, last.broker)
	}
	if IsRetriable(err) != retriableCode(f.code) {
		t.Errorf("%s\nIsRetriable %v for code %d", desc, IsRetriable(err), f.code)
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrConnClosed) {
		t.Errorf("%s\na broker's answer matches a transport error", desc)
	}
	// Exactly one code sentinel matches: the code's own, or none for a code this client does not
	// know (the *BrokerError still carries it).
	var matched []int32
	for _, c := range matrixCodes {
		if ce := ErrorForCode(c); ce != nil && errors.Is(err, ce) {
			matched = append(matched, c)
		}
	}
	if ce := ErrorForCode(f.code); ce != nil && (len(matched) != 1 || matched[0] != f.code) {
		t.Errorf("%s\nmatches the sentinels of codes %v, want %s's only", desc, matched, ce.Name)
	}
	if ErrorForCode(f.code) == nil && len(matched) != 0 {
		t.Errorf("%s\nan unknown code matches the sentinels of codes %v", desc, matched)
	}
}

// waitAttempts waits (briefly) until j holds n attempts: a oneway send returns before the broker
// read it.
func waitAttempts(j *journal, n int) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(j.all()) >= n {
			time.Sleep(20 * time.Millisecond) // a wrongful second write would show now
			return
		}
	}
}

// TestFaultMatrixNameServer: a NameServer that is down when the producer starts, and one that
// dies once routes are cached. Start needs no NameServer, a send without a route fails at once
// with a clear error, and once routes are cached sends of every kind go on without one.
func TestFaultMatrixNameServer(t *testing.T) {
	allKinds := func(t *testing.T, p *Producer, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			for _, k := range matrixKinds {
				if o := sendOnce(t, p, k); o.err != nil {
					t.Fatalf("%v send %d without a NameServer: %v", k, i, o.err)
				}
			}
		}
	}

	t.Run("down-at-start", func(t *testing.T) {
		fc := newFakeCluster(t, "broker-a", "broker-b")
		fc.ns.kill()
		p := startFake(t, fc, WithSendTimeout(matrixBudget), WithRoutePollInterval(50*time.Millisecond))
		start := time.Now()
		_, err := p.Send(context.Background(), msg("no route"))
		if err == nil {
			t.Fatal("a send without a NameServer succeeded")
		}
		if d := time.Since(start); d > matrixBudget+budgetSlack {
			t.Fatalf("a send without a NameServer returned after %v, over its %v budget", d, matrixBudget)
		}
		t.Logf("without a NameServer: %v", err)
		if errors.Is(err, ErrConnClosed) || !errors.Is(err, ErrConnect) {
			t.Errorf("a NameServer never reached: %v must match ErrConnect, never ErrConnClosed", err)
		}
		done := make(chan error, 1)
		if err := p.SendAsync(context.Background(), msg("no route"), func(_ *message.SendResult, err error) { done <- err }); err != nil {
			t.Logf("async refused at once: %v", err)
		} else if err := <-done; err == nil {
			t.Fatal("an async send without a NameServer succeeded")
		}
		fc.ns.revive(t)
		allKinds(t, p, 3)
	})

	t.Run("dies-later", func(t *testing.T) {
		fc := newFakeCluster(t, "broker-a", "broker-b")
		j := inject(fc, mxFault{name: "OK", code: codec.Success}, firstAttempt)
		p := startFake(t, fc, WithSendTimeout(matrixBudget), WithRoutePollInterval(50*time.Millisecond))
		allKinds(t, p, 1) // caches the route
		fc.ns.kill()
		time.Sleep(200 * time.Millisecond) // a few polls fail meanwhile
		before := len(j.all())
		allKinds(t, p, 5)
		waitAttempts(j, before+5*len(matrixKinds))
		per := map[string]int{}
		for _, a := range j.all()[before:] {
			per[a.broker]++
		}
		if per["broker-a"] == 0 || per["broker-b"] == 0 {
			t.Fatalf("sends on cached routes reached %v: the route lost a broker", per)
		}
	})
}

// TestFaultMatrixHungBrokerIsAvoided: a broker that accepts connections and never answers, with
// fault tolerance on. Every send keeps its budget, every timeout matches ErrTimeout, and once the
// hung broker has cost a send its deadline the following sends go to the healthy one.
func TestFaultMatrixHungBrokerIsAvoided(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	hung := fc.brokers["broker-a"]
	p := startFake(t, fc, WithSendTimeout(matrixBudget), WithFaultTolerance(true))
	for i := 0; i < 4; i++ { // connections and heartbeats to both brokers
		if _, err := p.Send(context.Background(), msg("warm")); err != nil {
			t.Fatal(err)
		}
	}
	hung.setHandler(func(*codec.Command) *codec.Command { return nil })
	const n = 40
	var ok, timeouts int
	var worst time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		res, err := p.Send(context.Background(), msg("while a is hung"))
		d := time.Since(start)
		worst = max(worst, d)
		if d > matrixBudget+budgetSlack {
			t.Errorf("send %d returned after %v, over its %v budget", i, d, matrixBudget)
		}
		switch {
		case err == nil && res.Queue.BrokerName == "broker-b":
			ok++
		case err == nil:
			t.Fatalf("send %d stored on the hung broker: %+v", i, res)
		case errors.Is(err, ErrTimeout):
			timeouts++
		default:
			t.Errorf("send %d: %v does not match ErrTimeout", i, err)
		}
	}
	t.Logf("hung broker-a: %d of %d sends OK on broker-b, %d timed out, longest %v", ok, n, timeouts, worst)
	if ok < n*95/100 {
		t.Fatalf("%d of %d sends succeeded while broker-a hung, want at least 95%%", ok, n)
	}
}

// TestFaultMatrixBackpressureKeepsTheBudget: an async send that waits for in-flight room spends
// its budget waiting, as Java's tryAcquire(timeout) does. Here the room is held by a send with a
// longer budget to a hung broker: the waiting send gives up at its own deadline with an error that
// matches ErrTimeout and ErrBackpressure, and its callback never runs.
func TestFaultMatrixBackpressureKeepsTheBudget(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			return nil // hung
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p := startFake(t, fc, WithSendTimeout(matrixBudget), WithAsyncBackpressure(1, 1<<20, true))
	first := make(chan error, 1)
	if err := p.SendAsync(context.Background(), msg("holds the room"), func(_ *message.SendResult, err error) { first <- err },
		WithTimeout(matrixBudget+3*time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := p.SendAsync(context.Background(), msg("waits for room"), func(_ *message.SendResult, err error) {
		t.Errorf("callback of a send SendAsync refused: %v", err)
	})
	d := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrBackpressure) {
		t.Fatalf("waiting for room past the budget: %v, want ErrTimeout and ErrBackpressure", err)
	}
	if d > matrixBudget+budgetSlack {
		t.Fatalf("SendAsync waited %v for room, over its %v budget", d, matrixBudget)
	}
	if err := <-first; !errors.Is(err, ErrTimeout) {
		t.Fatalf("the send holding the room: %v", err)
	}
}
