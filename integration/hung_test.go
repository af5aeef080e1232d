package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestHungBrokerFailover stops broker-a with SIGSTOP (it keeps its connections and accepts new
// ones, but never answers) while 4 goroutines make 200 sync sends with the default 3 s timeout and
// fault tolerance on, then resumes it (SIGCONT). Every send returns within its deadline (generous
// margin), at least 95 % succeed, on broker-b, and once broker-a is back sends reach it again. A
// send forced onto the stopped broker with a far context deadline ends at the send timeout with
// ErrTimeout. The figures it logs are those of docs/performance.md ("Hung broker").
func TestHungBrokerFailover(t *testing.T) {
	cl := rmqtest.Start(t, rmqtest.Own(26876)) // private: this test stops a broker
	const timeout = 3 * time.Second
	topic := uniqueTopic("rs_hung")
	newTopic(t, newProducer(t, cl.NameServer()), topic, 4) // admin calls get the usual 10 s
	trail := &attemptTrail{m: map[*message.Message][]string{}}
	p := newProducer(t, cl.NameServer(), send.WithSendTimeout(timeout), send.WithFaultTolerance(true), send.WithHooks(trail))
	ctx := context.Background()
	warm := map[string]int{} // both brokers connected and heartbeated
	for end := time.Now().Add(2 * time.Minute); warm[rmqtest.BrokerA] < 4 || warm[rmqtest.BrokerB] < 4; {
		res, err := p.Send(ctx, message.New(topic, []byte("warm-up")))
		if err == nil {
			warm[res.Queue.BrokerName]++
		} else if time.Now().After(end) {
			t.Fatalf("warm-up: %v (successes %v)", err, warm)
		}
	}

	cl.PauseBroker(t, rmqtest.BrokerA)
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			cl.ResumeBroker(t, rmqtest.BrokerA)
		}
	})
	paused := time.Now()

	const goroutines, perG = 4, 50
	type outcome struct {
		took   time.Duration
		broker string
		err    error
		msg    *message.Message
		at     time.Duration // since the pause
	}
	var mu sync.Mutex
	var outs []outcome
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				start := time.Now()
				m := message.New(topic, []byte(fmt.Sprintf("hung %d/%d", g, i)))
				res, err := p.Send(ctx, m)
				o := outcome{took: time.Since(start), err: err, msg: m, at: start.Sub(paused)}
				if err == nil {
					o.broker = res.Queue.BrokerName
				}
				mu.Lock()
				outs = append(outs, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	during := time.Since(paused)

	var ok, onB int
	var took []time.Duration
	for _, o := range outs {
		took = append(took, o.took)
		if o.took > timeout+3*time.Second { // generous: a 2-core machine shared by 8 developers
			t.Errorf("a send took %v with a %v timeout (err %v)", o.took, timeout, o.err)
		}
		if o.took > timeout || o.err != nil {
			t.Logf("send at +%v took %v: err %v; attempts %v", o.at.Round(time.Millisecond), o.took.Round(time.Millisecond), o.err, trail.of(o.msg))
		}
		switch {
		case o.err == nil:
			ok++
			if o.broker == rmqtest.BrokerB {
				onB++
			}
		case !errors.Is(o.err, send.ErrTimeout):
			t.Errorf("a failed send does not match ErrTimeout: %v", o.err)
		}
	}
	slices.Sort(took)
	if ok < len(outs)*95/100 {
		t.Errorf("%d of %d sends succeeded while broker-a was stopped, want >= 95%%", ok, len(outs))
	}

	// Forced onto the stopped broker, with a context deadline far away: the send timeout ends it.
	fctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	start := time.Now()
	_, err := p.Send(fctx, message.New(topic, []byte("forced")), send.ToQueue(message.MessageQueue{BrokerName: rmqtest.BrokerA}))
	cancel()
	forced := time.Since(start)
	if !errors.Is(err, send.ErrTimeout) || forced > timeout+3*time.Second {
		t.Errorf("send to the stopped broker: %v after %v, want ErrTimeout after about %v", err, forced, timeout)
	}

	cl.ResumeBroker(t, rmqtest.BrokerA)
	resumed = true
	resumedAt := time.Now()
	var back time.Duration
	for back == 0 {
		if time.Since(resumedAt) > 90*time.Second {
			t.Fatal("no send reached broker-a within 90 s of SIGCONT")
		}
		res, err := p.Send(ctx, message.New(topic, []byte("after")))
		if err == nil && res.Queue.BrokerName == rmqtest.BrokerA {
			back = time.Since(resumedAt)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("HUNG-BROKER sends=%d ok=%d on-broker-b=%d longest=%v p50=%v p99=%v run=%v forced-to-a=%v back-on-a-after-SIGCONT=%v",
		len(outs), ok, onB, took[len(took)-1].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond),
		took[len(took)*99/100].Round(time.Millisecond), during.Round(time.Millisecond), forced.Round(time.Millisecond),
		back.Round(time.Millisecond))
}

// attemptTrail records each message's attempts (broker, latency, error) for the log.
type attemptTrail struct {
	mu sync.Mutex
	m  map[*message.Message][]string
}

func (a *attemptTrail) SendMessageAfter(sc *send.SendContext) {
	a.mu.Lock()
	a.m[sc.Message] = append(a.m[sc.Message], fmt.Sprintf("#%d %s %v %v", sc.Attempt, sc.Queue.BrokerName, sc.Latency.Round(time.Millisecond), sc.Err))
	a.mu.Unlock()
}

func (a *attemptTrail) of(m *message.Message) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[m]
}
