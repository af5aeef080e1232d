package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

type benchFlags struct {
	producerFlags
	benchOptions
	jsonOut    bool
	plot       string
	noProgress bool
	queues     int
}

// benchOptions is one benchmark run's load.
type benchOptions struct {
	topic       string
	count       int
	size        int
	mode        string
	concurrency int // sync and oneway: sending goroutines
	inflight    int // async: most sends outstanding
	warmup      int
	timeout     time.Duration
}

// secondStat is one second of a run.
type secondStat struct {
	Second     int     `json:"second"`
	Msgs       int64   `json:"msgs"`
	MsgsPerSec float64 `json:"msgsPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
}

// benchResult is a run's summary (the --json output).
type benchResult struct {
	Mode           string       `json:"mode"`
	Size           int          `json:"size"`
	Count          int          `json:"count"`
	Sent           int64        `json:"sent"`
	Failed         int64        `json:"failed"`
	FirstError     string       `json:"firstError,omitempty"`
	Seconds        float64      `json:"seconds"`
	MsgsPerSec     float64      `json:"msgsPerSec"`
	P50Ms          float64      `json:"p50Ms"`
	P90Ms          float64      `json:"p90Ms"`
	P99Ms          float64      `json:"p99Ms"`
	P999Ms         float64      `json:"p999Ms"`
	MaxMs          float64      `json:"maxMs"`
	CPUNanosPerMsg float64      `json:"cpuNanosPerMsg"`
	PerSecond      []secondStat `json:"perSecond"`

	hist *hdrhistogram.Histogram
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency against a cluster: per-second figures, HDR summary, JSON, plot",
		Example: `  rocketsend bench -n 127.0.0.1:9876 --count 100000 --mode async --inflight 1024
  rocketsend bench -c rocketsend.hcl --count 20000 --json --plot latency.svg
  make bench-java     # the same load beside the official Java producer, alternating, with ratios`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &f)
		},
	}
	f.register(c)
	fl := c.Flags()
	fl.StringVarP(&f.topic, "topic", "t", "RocketsendBench", "topic (created on every broker first)")
	fl.IntVar(&f.count, "count", 10000, "messages to send (measured)")
	fl.IntVar(&f.size, "size", 1024, "body bytes")
	fl.StringVar(&f.mode, "mode", "async", "sync, async or oneway")
	fl.IntVar(&f.concurrency, "concurrency", 8, "sync and oneway: sending goroutines")
	fl.IntVar(&f.inflight, "inflight", 1024, "async: most sends outstanding at once")
	fl.IntVar(&f.warmup, "warmup", 500, "sync sends before the measured phase")
	fl.IntVar(&f.queues, "queues", 4, "queues per broker when creating the topic")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "bound of the whole run")
	fl.BoolVar(&f.jsonOut, "json", false, "print the summary as JSON (for scripts)")
	fl.StringVar(&f.plot, "plot", "", "write a latency and throughput plot (SVG) to this file")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no per-second lines and progress bar")
	return c
}

func (o *benchOptions) check() error {
	switch {
	case o.mode != "sync" && o.mode != "async" && o.mode != "oneway":
		return fmt.Errorf("bench: --mode %q: want sync, async or oneway", o.mode)
	case o.count < 1:
		return fmt.Errorf("bench: --count %d must be at least 1", o.count)
	case o.size < 0:
		return fmt.Errorf("bench: --size %d must not be negative", o.size)
	case o.concurrency < 1 || o.inflight < 1:
		return fmt.Errorf("bench: --concurrency and --inflight must be at least 1")
	case o.warmup < 0:
		return fmt.Errorf("bench: --warmup must not be negative")
	}
	return nil
}

func runBench(ctx context.Context, out, errOut io.Writer, f *benchFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	p, err := f.producer(ctx, send.WithAsyncBackpressure(f.inflight, 1<<40, true))
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, f.topic, f.queues, ""); err != nil {
		return fmt.Errorf("bench: creating topic %s: %w", f.topic, err)
	}
	var progress io.Writer
	if !f.noProgress {
		progress = errOut
	}
	res := benchRun(ctx, p, f.benchOptions, progress)
	if f.plot != "" {
		if err := os.WriteFile(f.plot, []byte(plotSVG(res)), 0o644); err != nil {
			return err
		}
	}
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printSummary(out, res)
	}
	if res.Failed > 0 {
		return fmt.Errorf("bench: %d of %d sends failed; first: %s", res.Failed, res.Count, res.FirstError)
	}
	return nil
}

func ms(us int64) float64 { return float64(us) / 1000 }

// benchRun sends o.count messages with p and measures them. progress (nil: quiet) gets a line per
// second and a progress bar.
// sender is what the benchmark drives: a rocketsend.Producer or a bare send.Producer.
type sender interface {
	Send(ctx context.Context, msg *message.Message, opts ...send.CallOption) (*message.SendResult, error)
	SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), opts ...send.CallOption) error
	SendOneway(ctx context.Context, msg *message.Message, opts ...send.CallOption) error
}

func benchRun(ctx context.Context, p sender, o benchOptions, progress io.Writer) *benchResult {
	body := make([]byte, o.size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	for i := 0; i < o.warmup && ctx.Err() == nil; i++ {
		m := message.New(o.topic, body)
		m.SetTags("rocketsend-warmup")
		_, _ = p.Send(ctx, m)
	}
	res := &benchResult{Mode: o.mode, Size: o.size, Count: o.count,
		hist: hdrhistogram.New(1, 60_000_000, 3)} // microseconds, 1 us .. 60 s
	var (
		mu       sync.Mutex
		window   = hdrhistogram.New(1, 60_000_000, 3)
		done     atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
	)
	record := func(start time.Time, err error) {
		us := max(time.Since(start).Microseconds(), 1)
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		mu.Lock()
		_ = res.hist.RecordValue(us)
		_ = window.RecordValue(us)
		mu.Unlock()
		done.Add(1)
	}

	start, cpu0 := time.Now(), processCPU()
	tickDone := make(chan struct{})
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() { // one line per second: throughput and latency of that second
		defer tickWG.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for sec := 1; ; sec++ {
			select {
			case <-tickDone:
				return
			case <-t.C:
			}
			n := done.Load()
			mu.Lock()
			st := secondStat{Second: sec, Msgs: n - last, MsgsPerSec: float64(n - last),
				P50Ms: ms(window.ValueAtQuantile(50)), P99Ms: ms(window.ValueAtQuantile(99))}
			window.Reset()
			mu.Unlock()
			last = n
			res.PerSecond = append(res.PerSecond, st)
			if progress != nil {
				fmt.Fprintf(progress, "%4ds %9.0f msgs/s  p50 %7.2f ms  p99 %7.2f ms  %s\n",
					sec, st.MsgsPerSec, st.P50Ms, st.P99Ms, bar(n, int64(o.count), 30))
			}
		}
	}()

	var next atomic.Int64
	switch o.mode {
	case "async":
		sem := make(chan struct{}, o.inflight)
		for i := 0; i < o.count && ctx.Err() == nil; i++ {
			sem <- struct{}{}
			s := time.Now()
			err := p.SendAsync(ctx, message.New(o.topic, body), func(_ *message.SendResult, err error) {
				record(s, err)
				<-sem
			})
			if err != nil {
				record(s, err)
				<-sem
			}
		}
		for i := 0; i < cap(sem); i++ { // wait for every callback
			sem <- struct{}{}
		}
	default:
		var wg sync.WaitGroup
		for g := 0; g < o.concurrency; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(o.count) && ctx.Err() == nil {
					s := time.Now()
					var err error
					if o.mode == "sync" {
						_, err = p.Send(ctx, message.New(o.topic, body))
					} else {
						err = p.SendOneway(ctx, message.New(o.topic, body))
					}
					record(s, err)
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	close(tickDone)
	tickWG.Wait()

	res.Sent = done.Load() - failed.Load()
	res.Failed = failed.Load() + int64(o.count) - done.Load() // not sent at all (timeout) counts as failed
	if v := firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	} else if res.Failed > 0 {
		res.FirstError = "the run's timeout ended it: " + context.Cause(ctx).Error()
	}
	res.Seconds = elapsed.Seconds()
	res.MsgsPerSec = float64(res.Sent) / res.Seconds
	res.P50Ms, res.P90Ms = ms(res.hist.ValueAtQuantile(50)), ms(res.hist.ValueAtQuantile(90))
	res.P99Ms, res.P999Ms, res.MaxMs = ms(res.hist.ValueAtQuantile(99)), ms(res.hist.ValueAtQuantile(99.9)), ms(res.hist.Max())
	if n := done.Load(); n > 0 {
		res.CPUNanosPerMsg = float64(cpu) / float64(n)
	}
	if progress != nil {
		fmt.Fprintf(progress, "done  %d sent, %d failed in %.2fs  %s\n", res.Sent, res.Failed, res.Seconds, bar(done.Load(), int64(o.count), 30))
	}
	return res
}

func bar(n, total int64, width int) string {
	if total <= 0 {
		return ""
	}
	filled := int(math.Round(float64(width) * float64(min(n, total)) / float64(total)))
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", filled), strings.Repeat("-", width-filled), 100*float64(min(n, total))/float64(total))
}

// printSummary prints the final HDR-histogram summary: percentiles and a coarse distribution.
func printSummary(w io.Writer, r *benchResult) {
	fmt.Fprintf(w, "\n%s sends of %d B: %d sent, %d failed in %.2f s = %.0f msgs/s, client CPU %.1f us/msg\n",
		r.Mode, r.Size, r.Sent, r.Failed, r.Seconds, r.MsgsPerSec, r.CPUNanosPerMsg/1000)
	fmt.Fprintf(w, "latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", r.P50Ms, r.P90Ms, r.P99Ms, r.P999Ms, r.MaxMs)
	fmt.Fprintln(w, "\n  percentile     latency (ms)   count")
	total := r.hist.TotalCount()
	for _, q := range []float64{0, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100} {
		v := r.hist.ValueAtQuantile(q)
		below := int64(0)
		for _, b := range r.hist.CumulativeDistribution() {
			if b.ValueAt <= v {
				below = b.Count
			}
		}
		fmt.Fprintf(w, "  %9.2f%%  %14.3f   %6d\n", q, ms(v), below)
	}
	fmt.Fprintf(w, "  (HDR histogram, 3 significant digits, %d values)\n", total)
	if r.FirstError != "" {
		fmt.Fprintln(w, "first error:", r.FirstError)
	}
}

// processCPU returns this process's user+system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// plotSVG draws p50 and p99 latency (left axis) and msgs/s (bars, right axis) per second.
func plotSVG(r *benchResult) string {
	const w, h, left, right, top, bottom = 800, 400, 70, 70, 40, 50
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	n := len(r.PerSecond)
	maxLat, maxRate := 0.001, 1.0
	for _, s := range r.PerSecond {
		maxLat = math.Max(maxLat, s.P99Ms)
		maxRate = math.Max(maxRate, s.MsgsPerSec)
	}
	x := func(i int) float64 { return left + pw*(float64(i)+0.5)/float64(max(n, 1)) }
	yl := func(v float64) float64 { return top + ph*(1-v/maxLat) }
	yr := func(v float64) float64 { return top + ph*(1-v/maxRate) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">rocketsend bench: %s, %d B, %.0f msgs/s, p50 %.2f ms, p99 %.2f ms</text>`+"\n",
		left, r.Mode, r.Size, r.MsgsPerSec, r.P50Ms, r.P99Ms)
	bw := pw / float64(max(n, 1)) * 0.6
	for i, s := range r.PerSecond {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#dde6f5"/>`+"\n", x(i)-bw/2, yr(s.MsgsPerSec), bw, top+ph-yr(s.MsgsPerSec))
	}
	for _, line := range []struct {
		color string
		v     func(secondStat) float64
	}{{"#2b7a2b", func(s secondStat) float64 { return s.P50Ms }}, {"#c0392b", func(s secondStat) float64 { return s.P99Ms }}} {
		var pts []string
		for i, s := range r.PerSecond {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), yl(line.v(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", line.color, strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.0f" stroke="black"/><line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n",
		left, top, left, top+ph, left, top+ph, left+pw, top+ph)
	for i := 0; i <= 4; i++ {
		v := float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.2f ms</text>`+"\n", left-5, yl(v*maxLat)+4, v*maxLat)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f">%.0f/s</text>`+"\n", left+pw+5, yr(v*maxRate)+4, v*maxRate)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">seconds (bars: msgs/s; green: p50; red: p99)</text>`+"\n", left+pw/2, h-15)
	b.WriteString("</svg>\n")
	return b.String()
}
