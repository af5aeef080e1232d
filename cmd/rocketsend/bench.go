package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/core/codec"
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
	profiles   benchProfiles
}

// benchOptions is one benchmark run's load.
type benchOptions struct {
	topic       string
	count       int           // messages to send; 0 with duration: no limit
	duration    time.Duration // stop starting sends after this long (0: no limit)
	rate        float64       // most messages started per second (0: as fast as possible)
	size        int
	mode        string
	batch       int           // batch mode: messages per SendBatch
	concurrency int           // sync, oneway and batch: sending goroutines
	inflight    int           // async: most sends outstanding
	floorWork   time.Duration // floor: busy work per frame before it is written
	warmup      int
	timeout     time.Duration
	// otherCPU, when set, reads another CPU counter in nanoseconds (the brokers', in
	// TestVersusJava; negative: unknown), sampled over the timed part into OtherCPUNanos.
	otherCPU func() int64
}

// secondStat is one second of a run.
type secondStat struct {
	Second     int     `json:"second"`
	Msgs       int64   `json:"msgs"`
	MsgsPerSec float64 `json:"msgsPerSec"`
	MBPerSec   float64 `json:"mbPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
}

// percentileRow is one row of the summary's percentile table: the latency at that percentile and
// how many sends took at most that long.
type percentileRow struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
	Count      int64   `json:"count"`
}

// storedCheck compares what the brokers stored during the run (the sum over the topic's queues
// of max offset after minus before) with what the producer saw acknowledged.
type storedCheck struct {
	Before       int64  `json:"before"`
	After        int64  `json:"after"`
	Stored       int64  `json:"stored"`
	Acknowledged int64  `json:"acknowledged"`
	Verdict      string `json:"verdict"`
	Error        string `json:"error,omitempty"`
}

// benchResult is a run's summary (the --json output): everything the text summary shows.
type benchResult struct {
	Mode           string          `json:"mode"`
	Size           int             `json:"size"`
	Batch          int             `json:"batch,omitempty"`
	AutoBatch      bool            `json:"autoBatch,omitempty"` // the producer's auto_batch was on
	Count          int             `json:"count"`
	Duration       float64         `json:"durationLimitSeconds,omitempty"`
	Rate           float64         `json:"rateLimit,omitempty"`
	Sent           int64           `json:"sent"`
	Failed         int64           `json:"failed"`
	Unsent         int64           `json:"unsent"`
	Interrupted    bool            `json:"interrupted,omitempty"`
	FirstError     string          `json:"firstError,omitempty"`
	Seconds        float64         `json:"seconds"`
	MsgsPerSec     float64         `json:"msgsPerSec"`
	MBPerSec       float64         `json:"mbPerSec"`
	P50Ms          float64         `json:"p50Ms"`
	P90Ms          float64         `json:"p90Ms"`
	P99Ms          float64         `json:"p99Ms"`
	P999Ms         float64         `json:"p999Ms"`
	MaxMs          float64         `json:"maxMs"`
	Latencies      int64           `json:"latencies"`
	Percentiles    []percentileRow `json:"percentiles"`
	CPUNanosPerMsg float64         `json:"cpuNanosPerMsg"`
	OtherCPUNanos  int64           `json:"-"` // benchOptions.otherCPU over the timed part (-1: unknown)
	Stored         *storedCheck    `json:"stored,omitempty"`
	// StoredSeconds (oneway only) is the time from the start to when the brokers had stored every
	// message sent, and StoredMsgsPerSec the rate by it: a oneway send returns when its frame is
	// queued, so msgsPerSec says how fast frames were queued, this how fast they were stored.
	StoredSeconds    float64      `json:"storedSeconds,omitempty"`
	StoredMsgsPerSec float64      `json:"storedMsgsPerSec,omitempty"`
	PerSecond        []secondStat `json:"perSecond"`

	hist *hdrhistogram.Histogram
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency against a cluster: per-second figures, HDR summary, stored check, JSON, plot",
		Long: `bench sends generated messages to a topic it creates on every broker and prints, each second and at the
end, msgs/s, MB/s and latency percentiles. At the end it compares what the brokers stored (the sum of
the topic's max offsets before and after) with what was acknowledged. Ctrl-C stops the run and prints
the summary of what ran so far. --mode floor measures no producer: it writes pre-encoded send frames,
pipelined, on one connection per broker, the ceiling a producer is compared with (docs/cli.md).`,
		Example: `  rocketsend bench -n 127.0.0.1:9876 --count 100000 --mode async --inflight 1024
  rocketsend bench -n 127.0.0.1:9876 --duration 30s --rate 5000 --mode sync
  rocketsend bench -n 127.0.0.1:9876 --mode batch --batch 32 --count 64000
  rocketsend bench -n 127.0.0.1:9876 --mode auto-batch --count 100000 --inflight 512
  rocketsend bench -n 127.0.0.1:9876 --mode sync --set auto_batch=true --concurrency 4
  rocketsend bench -n 127.0.0.1:9876 --mode floor --count 100000 --inflight 512   # the raw-frame ceiling
  rocketsend bench -c rocketsend.hcl --count 20000 --json --plot latency.svg
  make bench-java     # the same load beside the official Java producer, alternating, with ratios`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("duration") && !cmd.Flags().Changed("count") {
				f.count = 0 // --duration alone: as many as fit
			}
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &f)
		},
	}
	f.register(c)
	fl := c.Flags()
	fl.StringVarP(&f.topic, "topic", "t", "RocketsendBench", "topic (created on every broker first)")
	fl.IntVar(&f.count, "count", 10000, "messages to send (measured); with --duration, whichever ends first")
	fl.DurationVar(&f.duration, "duration", 0, "send for this long (measured), then print the summary")
	fl.Float64Var(&f.rate, "rate", 0, "most messages started per second (0: as fast as the mode allows)")
	fl.IntVar(&f.size, "size", 1024, "body bytes")
	fl.StringVar(&f.mode, "mode", "async", "sync, async, oneway, batch, auto-batch (async with the producer's auto_batch on; any mode takes --set auto_batch=true), or floor (raw pre-encoded frames pipelined on one connection per broker, bounded by --inflight: the ceiling a producer is compared with)")
	fl.IntVar(&f.batch, "batch", 16, "batch mode: messages per batch (one SendBatch, one latency)")
	fl.IntVar(&f.concurrency, "concurrency", 8, "sync, oneway and batch: sending goroutines")
	fl.IntVar(&f.inflight, "inflight", 1024, "async, auto-batch and floor: most sends outstanding at once")
	fl.DurationVar(&f.floorWork, "floor-work", 0, "floor: busy work on the writer per frame before it writes it (a stand-in for a producer's own work per message, to see what a microsecond of client CPU costs on this machine)")
	fl.IntVar(&f.warmup, "warmup", 500, "sync sends before the measured phase")
	fl.IntVar(&f.queues, "queues", 4, "queues per broker when creating the topic")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "bound of the whole run")
	fl.BoolVar(&f.jsonOut, "json", false, "print the summary as JSON (for scripts): every figure of the text summary")
	fl.StringVar(&f.plot, "plot", "", "write a latency and throughput plot (SVG) to this file")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no per-second lines and progress bar")
	fl.StringVar(&f.profiles.cpu, "cpuprofile", "", "write a pprof CPU profile of the run to this file")
	fl.StringVar(&f.profiles.mutex, "mutexprofile", "", "write a pprof profile of the run's lock contention to this file")
	fl.StringVar(&f.profiles.mem, "memprofile", "", "write a pprof profile of the run's allocations to this file")
	return c
}

// benchModes are the values of --mode.
var benchModes = []string{"sync", "async", "oneway", "batch", "auto-batch", "floor"}

// floorMaxBytes bounds the memory of the floor's pre-encoded frames.
const floorMaxBytes = 4 << 30

func (o *benchOptions) check() error {
	switch {
	case !slices.Contains(benchModes, o.mode):
		return usagef("bench: --mode %q: want %s", o.mode, strings.Join(benchModes, ", "))
	case o.count < 0 || (o.count == 0 && o.duration == 0):
		return usagef("bench: --count %d must be at least 1 (or give --duration)", o.count)
	case o.mode == "floor" && o.count == 0:
		return usagef("bench: --mode floor needs --count: its frames are encoded before the clock starts (--duration may still end it sooner)")
	case o.mode == "floor" && int64(o.count)*int64(o.size+512) > floorMaxBytes:
		return usagef("bench: --mode floor: %d frames of %d B would hold more than %d GiB in memory; lower --count", o.count, o.size, floorMaxBytes>>30)
	case o.duration < 0:
		return usagef("bench: --duration must not be negative")
	case o.rate < 0:
		return usagef("bench: --rate must not be negative")
	case o.size < 0:
		return usagef("bench: --size %d must not be negative", o.size)
	case o.concurrency < 1 || o.inflight < 1:
		return usagef("bench: --concurrency and --inflight must be at least 1")
	case o.mode == "batch" && o.batch < 1:
		return usagef("bench: --batch %d must be at least 1", o.batch)
	case o.warmup < 0:
		return usagef("bench: --warmup must not be negative")
	case o.floorWork < 0 || o.floorWork > time.Second:
		return usagef("bench: --floor-work %v: want 0 to 1s", o.floorWork)
	case o.floorWork > 0 && o.mode != "floor":
		return usagef("bench: --floor-work is for --mode floor only")
	}
	return nil
}

func runBench(ctx context.Context, out, errOut io.Writer, f *benchFlags) (err error) {
	if err := f.check(); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	stopProfiles, err := f.profiles.start()
	if err != nil {
		return err
	}
	defer func() {
		if perr := stopProfiles(); err == nil {
			err = perr
		}
	}()
	var fh floorHeader
	if f.mode == "floor" { // refused settings are refused before anything is created
		var err error
		if fh, err = f.floorHeader(); err != nil {
			return err
		}
	}
	opts := []send.Option{send.WithAsyncBackpressure(f.inflight, 1<<40, true)}
	if f.mode == "auto-batch" {
		opts = append(opts, send.WithAutoBatch(true))
	}
	p, err := f.producer(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	cfg, err := f.configFile() // what the summary says of auto-batching
	if err != nil {
		return err
	}
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, f.topic, f.queues, ""); err != nil {
		return fmt.Errorf("bench: creating topic %s: %w", f.topic, err)
	}
	var progress io.Writer
	if !f.noProgress {
		progress = errOut
	}
	// Ctrl-C stops starting sends; the sends in flight finish and the summary is printed.
	stop, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	var res *benchResult
	if f.mode == "floor" {
		if res, err = floorRun(ctx, stop, p, f.benchOptions, fh, progress); err != nil {
			return err
		}
	} else {
		res = benchRunStop(ctx, stop, p, f.benchOptions, progress)
		res.AutoBatch = f.mode == "auto-batch" || cfg.Producer.AutoBatch
	}
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
	switch {
	case res.Failed > 0:
		return fmt.Errorf("bench: %d sends failed; first: %s", res.Failed, res.FirstError)
	case res.Unsent > 0:
		return fmt.Errorf("bench: %d of %d messages not sent: %s", res.Unsent, res.Count, res.FirstError)
	case res.Stored != nil && res.Stored.Verdict == verdictLost:
		return fmt.Errorf("bench: the brokers stored %d messages, %d were acknowledged", res.Stored.Stored, res.Stored.Acknowledged)
	}
	return nil
}

// floorHeader is what the floor's frames take from the producer's settings (flags and -c file).
// The floor writes raw frames, so what the producer adds to a request on the wire besides the
// header (ACL signatures, TLS, a namespace prefix) it cannot do: such settings are refused.
func (f *benchFlags) floorHeader() (floorHeader, error) {
	cfg, err := f.configFile()
	if err != nil {
		return floorHeader{}, err
	}
	pr := cfg.Producer
	switch {
	case pr.Credentials != nil || pr.TLS != nil || pr.Namespace != "":
		return floorHeader{}, usagef("bench: --mode floor writes raw frames: it does not sign (credentials), encrypt (tls) or prefix a namespace")
	}
	h := floorHeader{serialize: codec.SerializeRocketMQ, group: pr.Group, createTopicKey: send.DefaultTopicKey,
		defaultTopicQueueNums: 4, unitMode: pr.UnitMode}
	if pr.Serialize != nil {
		h.serialize = *pr.Serialize
	}
	if pr.CreateTopicKey != "" {
		h.createTopicKey = pr.CreateTopicKey
	}
	if pr.DefaultTopicQueueNums > 0 {
		h.defaultTopicQueueNums = pr.DefaultTopicQueueNums
	}
	return h, nil
}

func ms(us int64) float64 { return float64(us) / 1000 }

// sender is what the benchmark drives: a rocketsend.Producer or a bare send.Producer.
type sender interface {
	Send(ctx context.Context, msg *message.Message, opts ...send.CallOption) (*message.SendResult, error)
	SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), opts ...send.CallOption) error
	SendOneway(ctx context.Context, msg *message.Message, opts ...send.CallOption) error
	TopicRoute(ctx context.Context, topic string) (*codec.TopicRouteData, error)
	SendBatch(ctx context.Context, msgs []*message.Message, opts ...send.CallOption) (*send.BatchResult, error)
	MaxOffset(ctx context.Context, q message.MessageQueue) (int64, error)
}

// benchRun sends o.count messages with p and measures them. progress (nil: quiet) gets a line per
// second and a progress bar.
func benchRun(ctx context.Context, p sender, o benchOptions, progress io.Writer) *benchResult {
	return benchRunStop(ctx, ctx, p, o, progress)
}

// The verdicts of the stored check.
const (
	verdictOK    = "ok: every acknowledged message is stored"
	verdictLost  = "LOST: fewer messages stored than acknowledged"
	verdictExtra = "more stored than acknowledged (retried sends stored twice, oneway sends, or another producer)"
)

// topicMaxOffsets sums the max offsets of the topic's queues.
func topicMaxOffsets(ctx context.Context, p sender, topic string) (int64, error) {
	rd, err := p.TopicRoute(ctx, topic)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, q := range topicQueues(rd, topic) {
		n, err := p.MaxOffset(ctx, q)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// benchRunStop is benchRun whose loops also end when stop is done (Ctrl-C); ctx bounds the sends.
func benchRunStop(ctx, stop context.Context, p sender, o benchOptions, progress io.Writer) *benchResult {
	body := benchBody(o.size)
	warmup(ctx, stop, p, o, body)
	m := startMeter(ctx, stop, p, o, progress)
	switch o.mode {
	case "async", "auto-batch": // auto-batch: the producer was built with it
		sem := make(chan struct{}, o.inflight)
		for m.claim(1) {
			sem <- struct{}{}
			s := time.Now()
			err := p.SendAsync(ctx, message.New(o.topic, body), func(_ *message.SendResult, err error) {
				m.record(s, 1, err)
				<-sem
			})
			if err != nil {
				m.record(s, 1, err)
				<-sem
			}
		}
		for i := 0; i < cap(sem); i++ { // wait for every callback
			sem <- struct{}{}
		}
	default:
		n := int64(1)
		if o.mode == "batch" {
			n = int64(o.batch)
		}
		var wg sync.WaitGroup
		for g := 0; g < o.concurrency; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := n
					if o.count > 0 {
						k = min(n, int64(o.count)-m.started.Load())
					}
					if k <= 0 || !m.claim(k) {
						return
					}
					s := time.Now()
					var err error
					switch o.mode {
					case "sync":
						_, err = p.Send(ctx, message.New(o.topic, body))
					case "oneway":
						err = p.SendOneway(ctx, message.New(o.topic, body))
					case "batch":
						msgs := make([]*message.Message, k)
						for i := range msgs {
							msgs[i] = message.New(o.topic, body)
						}
						_, err = p.SendBatch(ctx, msgs)
					}
					m.record(s, k, err)
				}
			}()
		}
		wg.Wait()
	}
	return m.finish(p)
}

// benchBody is the body of every benchmark message: size bytes of a..z.
func benchBody(size int) []byte {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	return body
}

// warmup sends o.warmup sync messages (tag rocketsend-warmup) before the measured phase; they
// are stored before the stored check's first reading, so they are not counted.
func warmup(ctx, stop context.Context, p sender, o benchOptions, body []byte) {
	for i := 0; i < o.warmup && stop.Err() == nil; i++ {
		m := message.New(o.topic, body)
		m.SetTags("rocketsend-warmup")
		_, _ = p.Send(ctx, m)
	}
}

// meter is the measured phase of a run, whatever sends: it paces and bounds the run (claim),
// records every finished send (record), prints a line per second, and sums up (finish). Every
// mode, the raw-frame floor included, measures through it, so their figures compare.
type meter struct {
	ctx, stop context.Context
	cancel    context.CancelFunc
	o         benchOptions
	progress  io.Writer
	res       *benchResult
	check     *storedCheck

	mu       sync.Mutex // guards res.hist and window
	window   *hdrhistogram.Histogram
	done     atomic.Int64 // messages finished (sent or failed)
	failed   atomic.Int64
	started  atomic.Int64 // messages started
	firstErr atomic.Value

	start    time.Time
	cpu0     int64
	other0   int64
	tickDone chan struct{}
	tickWG   sync.WaitGroup
}

// startMeter reads the topic's max offsets (the stored check's "before") and starts the clock.
func startMeter(ctx, stop context.Context, p sender, o benchOptions, progress io.Writer) *meter {
	m := &meter{ctx: ctx, stop: stop, cancel: func() {}, o: o, progress: progress, check: &storedCheck{},
		window:   hdrhistogram.New(1, 60_000_000, 3),
		tickDone: make(chan struct{}),
		res: &benchResult{Mode: o.mode, Size: o.size, Count: o.count, Duration: o.duration.Seconds(), Rate: o.rate,
			hist: hdrhistogram.New(1, 60_000_000, 3)}, // microseconds, 1 us .. 60 s
	}
	if o.mode == "batch" {
		m.res.Batch = o.batch
	}
	if before, err := topicMaxOffsets(ctx, p, o.topic); err != nil {
		m.check.Error = "max offsets before the run: " + err.Error()
	} else {
		m.check.Before = before
	}
	if o.duration > 0 {
		m.stop, m.cancel = context.WithTimeout(stop, o.duration)
	}
	if o.otherCPU != nil {
		m.other0 = o.otherCPU()
	}
	m.start, m.cpu0 = time.Now(), processCPU()
	m.tickWG.Add(1)
	go m.tick()
	return m
}

// record counts n messages that started at start and finished with err.
func (m *meter) record(start time.Time, n int64, err error) {
	us := max(time.Since(start).Microseconds(), 1)
	if err != nil {
		m.failed.Add(n)
		m.firstErr.CompareAndSwap(nil, err.Error())
	}
	m.mu.Lock()
	_ = m.res.hist.RecordValue(us)
	_ = m.window.RecordValue(us)
	m.mu.Unlock()
	m.done.Add(n)
}

// claim reserves n messages of the run; it says false when the run is over (count reached,
// duration passed, Ctrl-C) and waits for --rate's pace.
func (m *meter) claim(n int64) bool {
	o := m.o
	if m.stop.Err() != nil || m.ctx.Err() != nil {
		return false
	}
	k := m.started.Add(n)
	if o.count > 0 && k > int64(o.count) {
		m.started.Add(-n)
		return false
	}
	if o.rate > 0 {
		due := m.start.Add(time.Duration(float64(k-n) / o.rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-m.stop.Done():
				m.started.Add(-n)
				return false
			}
		}
	}
	return true
}

// tick prints one line per second: throughput and latency of that second.
func (m *meter) tick() {
	defer m.tickWG.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for sec := 1; ; sec++ {
		select {
		case <-m.tickDone:
			return
		case <-t.C:
		}
		n := m.done.Load()
		m.mu.Lock()
		st := secondStat{Second: sec, Msgs: n - last, MsgsPerSec: float64(n - last), MBPerSec: float64((n-last)*int64(m.o.size)) / 1e6,
			P50Ms: ms(m.window.ValueAtQuantile(50)), P99Ms: ms(m.window.ValueAtQuantile(99))}
		m.window.Reset()
		m.mu.Unlock()
		last = n
		m.res.PerSecond = append(m.res.PerSecond, st)
		if m.progress != nil {
			fmt.Fprintf(m.progress, "%4ds %9.0f msgs/s %8.2f MB/s  p50 %7.2f ms  p99 %7.2f ms  %s\n",
				sec, st.MsgsPerSec, st.MBPerSec, st.P50Ms, st.P99Ms, progressBar(n, m.o, time.Since(m.start)))
		}
	}
}

// finish stops the clock once every send has finished, sums up and runs the stored check.
func (m *meter) finish(p sender) *benchResult {
	ctx, o, res := m.ctx, m.o, m.res
	elapsed := time.Since(m.start)
	cpu := processCPU() - m.cpu0
	if o.otherCPU != nil {
		res.OtherCPUNanos = -1
		if other := o.otherCPU(); other >= 0 && m.other0 >= 0 {
			res.OtherCPUNanos = other - m.other0
		}
	}
	close(m.tickDone)
	m.tickWG.Wait()
	defer m.cancel()

	res.Interrupted = m.stop.Err() != nil && ctx.Err() == nil && (o.duration == 0 || elapsed < o.duration)
	res.Sent = m.done.Load() - m.failed.Load()
	res.Failed = m.failed.Load()
	if o.count > 0 && ctx.Err() != nil && !res.Interrupted {
		res.Unsent = int64(o.count) - m.started.Load() // the run's timeout ended it
	}
	if v := m.firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	} else if res.Unsent > 0 {
		res.FirstError = "the run's timeout ended it: " + context.Cause(ctx).Error()
	}
	res.Seconds = elapsed.Seconds()
	res.MsgsPerSec = float64(res.Sent) / res.Seconds
	res.MBPerSec = float64(res.Sent*int64(o.size)) / 1e6 / res.Seconds
	res.P50Ms, res.P90Ms = ms(res.hist.ValueAtQuantile(50)), ms(res.hist.ValueAtQuantile(90))
	res.P99Ms, res.P999Ms, res.MaxMs = ms(res.hist.ValueAtQuantile(99)), ms(res.hist.ValueAtQuantile(99.9)), ms(res.hist.Max())
	res.Latencies = res.hist.TotalCount()
	res.Percentiles = percentiles(res.hist)
	if n := m.done.Load(); n > 0 {
		res.CPUNanosPerMsg = float64(cpu) / float64(n)
	}
	if m.check.Error == "" {
		storedAfter(ctx, p, o, res, m.check)
		if o.mode == "oneway" && m.check.Error == "" && m.check.Stored >= m.check.Acknowledged {
			// A oneway send returns once its frame is queued: the brokers may store it much later.
			res.StoredSeconds = time.Since(m.start).Seconds()
			res.StoredMsgsPerSec = float64(res.Sent) / res.StoredSeconds
		}
	}
	res.Stored = m.check
	if m.progress != nil {
		fmt.Fprintf(m.progress, "done  %d sent, %d failed in %.2fs  %s\n", res.Sent, res.Failed, res.Seconds, progressBar(m.done.Load(), o, elapsed))
	}
	return res
}

// storedAfter reads the max offsets again and judges. Oneway sends are not acknowledged: the
// check compares with what was sent.
func storedAfter(ctx context.Context, p sender, o benchOptions, res *benchResult, check *storedCheck) {
	check.Acknowledged = res.Sent
	// The max offsets are the consume queues', which the broker writes after it answered (its
	// reput service): a read right after the last answer can miss the last batch. So every mode
	// waits, up to 10 s, for what was acknowledged to show.
	after, _, err := waitStored(ctx, p, o.topic, check.Before+check.Acknowledged, 10*time.Second)
	if err != nil {
		check.Error = "max offsets after the run: " + err.Error()
		return
	}
	check.After, check.Stored = after, after-check.Before
	switch {
	case check.Stored == check.Acknowledged:
		check.Verdict = verdictOK
	case check.Stored < check.Acknowledged:
		check.Verdict = verdictLost
	default:
		check.Verdict = verdictExtra
	}
}

// waitStored reads the sum of topic's max offsets every 10 ms until it reaches want or wait has
// passed (0: read once), and returns the last sum and when it reached want (zero if it did not).
// Often, so a oneway stored rate is exact to about 10 ms.
func waitStored(ctx context.Context, p sender, topic string, want int64, wait time.Duration) (int64, time.Time, error) {
	deadline := time.Now().Add(wait)
	for {
		n, err := topicMaxOffsets(ctx, p, topic)
		if err != nil {
			return n, time.Time{}, err
		}
		if n >= want {
			return n, time.Now(), nil
		}
		if !time.Now().Before(deadline) {
			return n, time.Time{}, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// percentiles is the summary's table: for each percentile its latency and how many sends took at
// most that long (every value in a histogram bucket up to the one the percentile falls in).
func percentiles(h *hdrhistogram.Histogram) []percentileRow {
	var rows []percentileRow
	bars := h.Distribution()
	for _, q := range []float64{0, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100} {
		v := h.ValueAtQuantile(q)
		var n int64
		for _, b := range bars {
			if b.From <= v {
				n += b.Count
			}
		}
		rows = append(rows, percentileRow{Percentile: q, Ms: ms(v), Count: n})
	}
	return rows
}

// progressBar is the bar of a run bounded by count, else by duration, else nothing.
func progressBar(n int64, o benchOptions, elapsed time.Duration) string {
	switch {
	case o.count > 0:
		return bar(n, int64(o.count), 30)
	case o.duration > 0:
		return bar(int64(elapsed), int64(o.duration), 30)
	}
	return ""
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
	what := r.Mode + " sends"
	switch {
	case r.Batch > 0:
		what = fmt.Sprintf("batch sends of %d messages", r.Batch)
	case r.Mode == "auto-batch":
		what = "async sends, auto-batched,"
	case r.AutoBatch:
		what = r.Mode + " sends (auto_batch on)"
	}
	if r.Interrupted {
		fmt.Fprintln(w, "\ninterrupted: the summary of what ran until Ctrl-C")
	}
	fmt.Fprintf(w, "\n%s of %d B: %d sent, %d failed in %.2f s = %.0f msgs/s, %.2f MB/s, client CPU %.1f us/msg\n",
		what, r.Size, r.Sent, r.Failed, r.Seconds, r.MsgsPerSec, r.MBPerSec, r.CPUNanosPerMsg/1000)
	if r.Unsent > 0 {
		fmt.Fprintf(w, "%d messages not sent before the run's timeout\n", r.Unsent)
	}
	fmt.Fprintf(w, "latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", r.P50Ms, r.P90Ms, r.P99Ms, r.P999Ms, r.MaxMs)
	fmt.Fprintln(w, "\n  percentile     latency (ms)    count (at most that long)")
	for _, p := range r.Percentiles {
		fmt.Fprintf(w, "  %9.2f%%  %14.3f   %8d\n", p.Percentile, p.Ms, p.Count)
	}
	unit := "sends"
	if r.Batch > 0 {
		unit = "batches"
	}
	fmt.Fprintf(w, "  (HDR histogram, 3 significant digits, %d %s)\n", r.Latencies, unit)
	if c := r.Stored; c != nil {
		if c.Error != "" {
			fmt.Fprintf(w, "\nstored check: not done: %s\n", c.Error)
		} else {
			fmt.Fprintf(w, "\nstored check: max offsets %d -> %d: %d stored, %d acknowledged: %s\n", c.Before, c.After, c.Stored, c.Acknowledged, c.Verdict)
		}
	}
	if r.StoredSeconds > 0 {
		fmt.Fprintf(w, "all stored %.2f s after the start = %.0f msgs/s stored (a oneway send returns when its frame is queued)\n",
			r.StoredSeconds, r.StoredMsgsPerSec)
	}
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
