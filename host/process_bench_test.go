package host

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/send"
)

// Process plugin benchmarks: one CHECK_FORBIDDEN call (the plugin answers "allow, no change") on a
// message with a dozen properties, through the adapters, so each op includes the view encoding,
// the transport and the plugin's work. Serial ops give the latency of one call; parallel ops (16
// callers) give the throughput on the machine's cores, with latency percentiles as metrics.
//
//	go test -run='^$' -bench=Process -benchtime=3s ./host/
func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct {
		name    string
		callers int
		opts    []Opt
	}{
		{"unary/serial", 1, []Opt{WithUnaryCalls()}},
		{"stream/serial", 1, nil},
		{"unary/parallel16", 16, []Opt{WithUnaryCalls()}},
		{"stream/parallel16", 16, nil},
		{"stream/parallel16/noMTLS", 16, []Opt{WithoutAutoMTLS()}},
		{"stream/parallel64", 64, nil},
	} {
		b.Run(c.name, func(b *testing.B) { benchProcess(b, c.callers, c.opts...) })
	}
}

func benchSC() *send.SendContext {
	sc := newSC("orders", "paid")
	m := sc.Message
	m.SetKeys("order-20240611-000042")
	for _, kv := range [][2]string{{"tenant", "acme-corp"}, {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{"app.attr0", "value-0"}, {"app.attr1", "value-1000"}, {"app.attr2", "value-2000"}, {"app.attr3", "value-3000"}} {
		m.SetProperty(kv[0], kv[1])
	}
	return sc
}

func benchProcess(b *testing.B, callers int, opts ...Opt) {
	opts = append([]Opt{WithLogger(hclog.NewNullLogger())}, opts...)
	p, _ := loadProc(b, faultProc(b), opts...)
	fh := p.Hooks().(send.CheckForbiddenHook)
	if err := fh.CheckForbidden(benchSC()); err != nil {
		b.Fatal(err)
	}
	s0 := p.Stats()
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if callers == 1 {
		sc := benchSC()
		for b.Loop() {
			if err := fh.CheckForbidden(sc); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		var next sync.WaitGroup
		work := make(chan struct{}, callers)
		for i := 0; i < callers; i++ {
			next.Add(1)
			go func() {
				defer next.Done()
				sc := benchSC()
				var mine []time.Duration
				for range work {
					t0 := time.Now()
					if err := fh.CheckForbidden(sc); err != nil {
						b.Error(err)
						break
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		for i := 0; i < b.N; i++ {
			work <- struct{}{}
		}
		close(work)
		next.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	}
	if s := p.Stats(); s.Batches > s0.Batches {
		b.ReportMetric(float64(s.Batched-s0.Batched)/float64(s.Batches-s0.Batches), "calls/batch")
	}
}
