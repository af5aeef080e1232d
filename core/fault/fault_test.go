package fault

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rocketsend/rocketsend/core/message"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock tests move by hand; safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// queues returns n queues on each broker, in route order (broker by broker).
func queues(n int, brokers ...string) []message.MessageQueue {
	var qs []message.MessageQueue
	for _, b := range brokers {
		for i := range n {
			qs = append(qs, message.MessageQueue{Topic: "T", BrokerName: b, QueueID: i})
		}
	}
	return qs
}

func TestNotAvailableDurationTable(t *testing.T) {
	s := NewStrategy()
	ms := time.Millisecond
	cases := []struct{ latency, want time.Duration }{
		{0, 0}, {49 * ms, 0}, {50 * ms, 0}, {100 * ms, 0}, {549 * ms, 0},
		{550 * ms, 2 * time.Second}, {1799 * ms, 2 * time.Second},
		{1800 * ms, 5 * time.Second}, {3000 * ms, 6 * time.Second},
		{5000 * ms, 10 * time.Second}, {14999 * ms, 10 * time.Second},
		{15000 * ms, 30 * time.Second}, {time.Hour, 30 * time.Second},
		{IsolationLatency, 10 * time.Second},
	}
	for _, c := range cases {
		if got := s.NotAvailableDuration(c.latency); got != c.want {
			t.Errorf("NotAvailableDuration(%v) = %v, want %v", c.latency, got, c.want)
		}
	}
}

func TestDefaultLatencyTableIsACopy(t *testing.T) {
	lm, na := DefaultLatencyTable()
	lm[0], na[6] = time.Hour, 0
	lm2, na2 := DefaultLatencyTable()
	if lm2[0] != 50*time.Millisecond || na2[6] != 30*time.Second {
		t.Fatalf("DefaultLatencyTable shares its backing arrays: %v %v", lm2, na2)
	}
}

func TestWithLatencyTable(t *testing.T) {
	s := NewStrategy(WithLatencyTable(
		[]time.Duration{0, time.Second},
		[]time.Duration{time.Minute, time.Hour},
	))
	if got := s.NotAvailableDuration(10 * time.Millisecond); got != time.Minute {
		t.Errorf("got %v, want 1m", got)
	}
	if got := s.NotAvailableDuration(IsolationLatency); got != time.Hour {
		t.Errorf("got %v, want 1h", got)
	}
	for _, bad := range []struct{ lm, na []time.Duration }{
		{nil, nil},
		{[]time.Duration{1}, []time.Duration{1, 2}},
		{[]time.Duration{2, 1}, []time.Duration{1, 2}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithLatencyTable(%v, %v) did not panic", bad.lm, bad.na)
				}
			}()
			WithLatencyTable(bad.lm, bad.na)
		}()
	}
}

func TestIsolationAfterErrorAndRecovery(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
	lft := s.Tolerance()

	if !lft.IsAvailable("a") || !lft.IsReachable("a") {
		t.Fatal("an unknown broker must be available and reachable")
	}
	// A connection error: isolated 10 s, still reachable (Java without the detector).
	s.UpdateFaultItem("a", 3*time.Millisecond, true, true)
	if lft.IsAvailable("a") || !lft.IsReachable("a") {
		t.Fatalf("after isolation: available=%v reachable=%v", lft.IsAvailable("a"), lft.IsReachable("a"))
	}
	clk.Advance(10*time.Second - time.Millisecond)
	if lft.IsAvailable("a") {
		t.Fatal("available before the 10 s isolation ended")
	}
	clk.Advance(time.Millisecond)
	if !lft.IsAvailable("a") {
		t.Fatal("not available once the isolation ended")
	}

	// A broker error response: isolated and unreachable until a success says otherwise.
	s.UpdateFaultItem("b", 5*time.Millisecond, true, false)
	clk.Advance(11 * time.Second)
	if !lft.IsAvailable("b") || lft.IsReachable("b") {
		t.Fatalf("after 11 s: available=%v reachable=%v", lft.IsAvailable("b"), lft.IsReachable("b"))
	}
	s.UpdateFaultItem("b", 5*time.Millisecond, false, true)
	if !lft.IsReachable("b") {
		t.Fatal("a success must make the broker reachable again")
	}

	// A slow success isolates by latency.
	s.UpdateFaultItem("c", 600*time.Millisecond, false, true)
	if lft.IsAvailable("c") {
		t.Fatal("600 ms attempt must isolate for 2 s")
	}
	clk.Advance(2 * time.Second)
	if !lft.IsAvailable("c") {
		t.Fatal("c still isolated after 2 s")
	}

	lft.Remove("b")
	if !lft.IsReachable("b") {
		t.Fatal("Remove must forget the broker")
	}
}

func TestIsolationIsOnlyExtended(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
	s.UpdateFaultItem("a", 0, true, true) // until +10 s
	clk.Advance(time.Second)
	s.UpdateFaultItem("a", time.Millisecond, false, true) // fast success: duration 0, must not shorten
	s.UpdateFaultItem("a", 600*time.Millisecond, false, true)
	if s.Tolerance().IsAvailable("a") {
		t.Fatal("a fast or shorter result shortened the isolation")
	}
	clk.Advance(9 * time.Second)
	if !s.Tolerance().IsAvailable("a") {
		t.Fatal("isolation outlived its first deadline")
	}
	items := s.Tolerance().Items()
	if len(items) != 1 || items[0].CurrentLatency != 600*time.Millisecond {
		t.Fatalf("the latest latency must be recorded: %+v", items)
	}
}

func TestDisabledRecordsNothing(t *testing.T) {
	s := NewStrategy()
	if s.Enabled() {
		t.Fatal("fault tolerance must be off by default, like Java's sendLatencyFaultEnable")
	}
	s.UpdateFaultItem("a", time.Minute, true, false)
	if len(s.Tolerance().Items()) != 0 {
		t.Fatal("a disabled strategy recorded an item")
	}
	s.SetEnabled(true)
	s.UpdateFaultItem("a", time.Minute, true, false)
	if s.Tolerance().IsAvailable("a") {
		t.Fatal("enabled at run time but did not isolate")
	}
}

func TestRoundRobinFairness(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(fmt.Sprint("enabled=", enabled), func(t *testing.T) {
			s := NewStrategy(WithEnabled(enabled))
			qs := queues(4, "a", "b")
			var counter atomic.Uint32
			counts := map[message.MessageQueue]int{}
			var order []message.MessageQueue
			for range 8 * 100 {
				q := s.SelectOneMessageQueue(qs, &counter, "")
				counts[q]++
				if len(order) < 8 {
					order = append(order, q)
				}
			}
			for _, q := range qs {
				if counts[q] != 100 {
					t.Errorf("queue %v chosen %d times, want 100", q, counts[q])
				}
			}
			// Consecutive picks follow the route order (from wherever the counter starts).
			want := append(slices.Clone(qs[1:]), qs[0])
			if !slices.Equal(order, want) {
				t.Errorf("order %v, want %v", order, want)
			}
		})
	}
}

func TestAvoidsLastBroker(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(fmt.Sprint("enabled=", enabled), func(t *testing.T) {
			s := NewStrategy(WithEnabled(enabled))
			qs := queues(2, "a", "b", "c")
			var counter atomic.Uint32
			for i := range 100 {
				counter.Store(uint32(i * 7))
				if q := s.SelectOneMessageQueue(qs, &counter, "b"); q.BrokerName == "b" {
					t.Fatalf("picked %v although b was the last broker", q)
				}
			}
			// A topic on a single broker still gets a queue on retry.
			one := queues(2, "b")
			if q := s.SelectOneMessageQueue(one, &counter, "b"); q.BrokerName != "b" {
				t.Fatalf("single-broker topic: got %v", q)
			}
		})
	}
}

func TestSkippedQueuesDoNotSkewRoundRobin(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
	qs := queues(2, "a", "b")
	s.UpdateFaultItem("b", 0, true, true)
	var counter atomic.Uint32
	counts := map[int]int{}
	for range 100 {
		q := s.SelectOneMessageQueue(qs, &counter, "")
		if q.BrokerName != "a" {
			t.Fatalf("picked isolated broker: %v", q)
		}
		counts[q.QueueID]++
	}
	if counts[0] != 50 || counts[1] != 50 {
		t.Fatalf("queues of the available broker chosen %v times, want 50/50", counts)
	}
}

func TestSelectionPasses(t *testing.T) {
	qs := queues(2, "a", "b", "c")
	type state struct {
		isolated, unreachable []string
	}
	cases := []struct {
		name    string
		st      state
		last    string
		allowed []string // brokers the pick may land on
	}{
		{"all fine, no last", state{}, "", []string{"a", "b", "c"}},
		{"all fine, avoid last", state{}, "a", []string{"b", "c"}},
		{"pass 1 skips isolated", state{isolated: []string{"b"}}, "a", []string{"c"}},
		{"pass 2: isolated but reachable beats last", state{isolated: []string{"b", "c"}}, "a", []string{"b", "c"}},
		{"pass 2 skips unreachable", state{isolated: []string{"b", "c"}, unreachable: []string{"c"}}, "a", []string{"b"}},
		{"pass 3: last broker when all others unusable", state{isolated: []string{"b", "c"}, unreachable: []string{"b", "c"}}, "a", []string{"a"}},
		{"pass 4: reachable last broker", state{isolated: []string{"a", "b", "c"}, unreachable: []string{"b", "c"}}, "a", []string{"a"}},
		{"pass 5: nothing usable, plain round robin", state{isolated: []string{"a", "b", "c"}, unreachable: []string{"a", "b", "c"}}, "a", []string{"a", "b", "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
			for _, b := range []string{"a", "b", "c"} {
				iso, unr := slices.Contains(c.st.isolated, b), slices.Contains(c.st.unreachable, b)
				if iso || unr {
					s.UpdateFaultItem(b, 0, iso, !unr)
				}
			}
			var counter atomic.Uint32
			seen := map[string]bool{}
			for i := range 60 {
				counter.Store(uint32(i))
				q := s.SelectOneMessageQueue(qs, &counter, c.last)
				if !slices.Contains(c.allowed, q.BrokerName) {
					t.Fatalf("picked %v, allowed brokers %v", q, c.allowed)
				}
				seen[q.BrokerName] = true
			}
			if len(seen) != len(c.allowed) {
				t.Fatalf("picked brokers %v, want all of %v over 60 picks", seen, c.allowed)
			}
		})
	}
}

func TestDisabledIgnoresIsolation(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
	s.UpdateFaultItem("a", 0, true, false)
	s.SetEnabled(false)
	qs := queues(1, "a", "b")
	var counter atomic.Uint32
	seen := map[string]int{}
	for range 10 {
		seen[s.SelectOneMessageQueue(qs, &counter, "").BrokerName]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("disabled strategy must ignore isolation: %v", seen)
	}
}

func TestEmptyQueuesAndNilCounter(t *testing.T) {
	s := NewStrategy(WithEnabled(true))
	if q := s.SelectOneMessageQueue(nil, nil, ""); q != (message.MessageQueue{}) {
		t.Fatalf("empty queues: got %v", q)
	}
	qs := queues(1, "a", "b")
	first := s.SelectOneMessageQueue(qs, nil, "")
	second := s.SelectOneMessageQueue(qs, nil, "")
	if first == second {
		t.Fatalf("the internal counter did not advance: %v twice", first)
	}
}

func TestPickOneAtLeast(t *testing.T) {
	clk := newFakeClock()
	lft := NewLatencyFaultTolerance(clk.Now)
	if got := lft.PickOneAtLeast(); got != "" {
		t.Fatalf("empty table: got %q", got)
	}
	lft.UpdateFaultItem("a", 0, time.Minute, false)
	if got := lft.PickOneAtLeast(); got != "" {
		t.Fatalf("only unreachable items: got %q", got)
	}
	lft.UpdateFaultItem("b", time.Second, time.Minute, true)
	lft.UpdateFaultItem("c", 2*time.Second, time.Minute, true)
	seen := map[string]int{}
	for range 400 {
		seen[lft.PickOneAtLeast()]++
	}
	if seen["a"] != 0 || seen["b"] == 0 || seen["c"] == 0 || len(seen) != 2 {
		t.Fatalf("PickOneAtLeast must pick among reachable items at random: %v", seen)
	}
}

func TestItemsOrder(t *testing.T) {
	clk := newFakeClock()
	lft := NewLatencyFaultTolerance(clk.Now)
	lft.UpdateFaultItem("slow-ok", 300*time.Millisecond, 0, true)
	lft.UpdateFaultItem("fast-ok", 10*time.Millisecond, 0, true)
	lft.UpdateFaultItem("iso-long", 10*time.Millisecond, time.Minute, true)
	lft.UpdateFaultItem("iso-short", 10*time.Millisecond, time.Second, false)
	var names []string
	for _, it := range lft.Items() {
		names = append(names, it.BrokerName)
	}
	want := []string{"fast-ok", "slow-ok", "iso-short", "iso-long"}
	if !slices.Equal(names, want) {
		t.Fatalf("Items order %v, want %v", names, want)
	}
}

func TestZeroValueTolerance(t *testing.T) {
	var lft LatencyFaultTolerance
	lft.UpdateFaultItem("a", 0, time.Hour, true)
	if lft.IsAvailable("a") {
		t.Fatal("zero value must work with the wall clock")
	}
}

func TestDetectOnce(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now), WithDetectInterval(time.Second))
	lft := s.Tolerance()
	s.UpdateFaultItem("a", 0, true, false)
	s.UpdateFaultItem("b", 0, true, false)
	s.UpdateFaultItem("gone", 0, true, false)
	addrs := map[string]string{"a": "10.0.0.1:10911", "b": "10.0.0.2:10911"}
	var probed []string
	healthy := map[string]bool{"10.0.0.1:10911": true}
	probe := func(_ context.Context, addr string) bool {
		probed = append(probed, addr)
		return healthy[addr]
	}
	resolve := func(name string) string { return addrs[name] }

	lft.DetectOnce(context.Background(), resolve, probe)
	if !lft.IsReachable("a") || lft.IsReachable("b") {
		t.Fatalf("after a probe round: a reachable=%v b reachable=%v", lft.IsReachable("a"), lft.IsReachable("b"))
	}
	if names := itemNames(lft); slices.Contains(names, "gone") {
		t.Fatalf("a broker that no longer resolves must be forgotten: %v", names)
	}
	if !slices.Equal(probed, []string{"10.0.0.1:10911", "10.0.0.2:10911"}) {
		t.Fatalf("probed %v", probed)
	}

	// Not due yet: no probes.
	probed = nil
	healthy["10.0.0.2:10911"] = true
	lft.DetectOnce(context.Background(), resolve, probe)
	if len(probed) != 0 {
		t.Fatalf("probed %v before the detect interval passed", probed)
	}
	clk.Advance(time.Second)
	lft.DetectOnce(context.Background(), resolve, probe)
	if !lft.IsReachable("b") || !slices.Equal(probed, []string{"10.0.0.2:10911"}) {
		t.Fatalf("b reachable=%v, probed %v (reachable brokers need no probe)", lft.IsReachable("b"), probed)
	}
}

func itemNames(l *LatencyFaultTolerance) []string {
	var names []string
	for _, it := range l.Items() {
		names = append(names, it.BrokerName)
	}
	return names
}

// TestConcurrentUse exercises every method from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	clk := newFakeClock()
	s := NewStrategy(WithEnabled(true), WithClock(clk.Now))
	qs := queues(4, "a", "b", "c")
	var counter atomic.Uint32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			broker := []string{"a", "b", "c"}[g%3]
			for i := range 2000 {
				q := s.SelectOneMessageQueue(qs, &counter, broker)
				if q.Topic != "T" {
					t.Errorf("bad queue %v", q)
					return
				}
				s.UpdateFaultItem(q.BrokerName, time.Duration(i%700)*time.Millisecond, i%50 == 0, i%97 != 0)
				switch i % 200 {
				case 0:
					s.Tolerance().Remove(broker)
				case 1:
					s.Tolerance().PickOneAtLeast()
				case 2:
					s.Tolerance().Items()
				case 3:
					clk.Advance(time.Second)
				case 4:
					s.SetEnabled(i%400 != 4)
				case 5:
					s.Tolerance().DetectOnce(context.Background(),
						func(string) string { return "x:1" },
						func(context.Context, string) bool { return true })
				}
			}
		}()
	}
	wg.Wait()
}
