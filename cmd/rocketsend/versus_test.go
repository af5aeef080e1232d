package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// The clients TestVersusJava compares (VERSUS_CLIENTS names them by key).
var versusClients = []struct{ key, name string }{
	{"rocketsend", "rocketsend"},
	{"rocketsend-auto-batch", "rocketsend auto-batch"},
	{"java", "Java"},
	{"java-auto-batch", "Java autoBatch"},
	{"floor", "raw-frame floor"},
}

// versusLoads are the loads (VERSUS_MODES): async with VERSUS_INFLIGHT outstanding, sync and
// oneway from VERSUS_SENDERS goroutines (Java: threads).
var versusLoads = []string{"async", "sync", "oneway"}

// versusSample is one client's figures in one round.
type versusSample struct {
	msgsPerSec float64
	sent       int64
	clientCPU  int64 // ns, the client process's user+system time over the timed part
	brokerCPU  int64 // ns, both brokers' user+system time over the same part (-1: unknown)
	p50, p99   float64
	// storedRate (oneway) is msgs/s by the time the brokers had stored every message: a oneway
	// send returns once its frame is queued, so msgsPerSec alone measures the queueing.
	storedRate float64
}

// TestVersusJava is the side-by-side benchmark (`make bench-java`): for each load (async, sync,
// oneway) it runs rocketsend, rocketsend with auto-batching, the official Java producer
// (tools/javapeer), Java with setAutoBatch(true) and the raw-frame floor (bench --mode floor;
// async and sync only) against the same cluster, each on a fresh topic, in an order that rotates
// every round, and prints per load and client the median msgs/s with min-max, client and broker
// CPU seconds per 100 000 messages, p50/p99 latency, and the ratios of rocketsend to Java, Java
// autoBatch and the floor. Every client uses JSON headers (the Java client's default), no
// compression, 2 retries and a 10 s send timeout. Every message every client sent must be stored
// (the topic's max offsets), or the test fails; nothing else decides pass or fail.
//
// It runs with ROCKETSEND_VERSUS_JAVA=1, and as a smoke run under CI=true. Knobs (environment): VERSUS_COUNT (30000 messages per
// client and round), VERSUS_SIZE (1024 B), VERSUS_INFLIGHT (512, async and the async floor),
// VERSUS_SENDERS (4, sync and oneway; the sync floor keeps as many in flight), VERSUS_ROUNDS (3),
// VERSUS_MODES (async,sync,oneway; VERSUS_MODE is read too), VERSUS_CLIENTS (every key of
// versusClients) and VERSUS_PIN (1: the client alone on CPU 0, see versusPin).
func TestVersusJava(t *testing.T) {
	// Under CI=true without ROCKETSEND_VERSUS_JAVA=1 it is a smoke run (2 000 messages, one round,
	// about half a minute): it measures nothing, but proves the harness, the Java witness and
	// that every client's messages are stored.
	countDef, roundsDef := 30000, 3
	if os.Getenv("ROCKETSEND_VERSUS_JAVA") != "1" {
		if os.Getenv("CI") != "true" {
			t.Skip("side-by-side benchmark: run with ROCKETSEND_VERSUS_JAVA=1 (make bench-java)")
		}
		countDef, roundsDef = 2000, 1
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	list := func(def []string, keys ...string) []string {
		for _, k := range keys {
			if v := strings.FieldsFunc(os.Getenv(k), func(r rune) bool { return r == ',' || r == ' ' }); len(v) > 0 {
				return v
			}
		}
		return def
	}
	count, size, inflight := env("VERSUS_COUNT", countDef), env("VERSUS_SIZE", 1024), env("VERSUS_INFLIGHT", 512)
	senders, rounds := env("VERSUS_SENDERS", 4), env("VERSUS_ROUNDS", roundsDef)
	var allClients []string
	for _, c := range versusClients {
		allClients = append(allClients, c.key)
	}
	loads, clients := list(versusLoads, "VERSUS_MODES", "VERSUS_MODE"), list(allClients, "VERSUS_CLIENTS")
	for _, l := range loads {
		if !slices.Contains(versusLoads, l) {
			t.Fatalf("VERSUS_MODES: %q: want some of %v", l, versusLoads)
		}
	}
	for _, c := range clients {
		if !slices.Contains(allClients, c) {
			t.Fatalf("VERSUS_CLIENTS: %q: want some of %v", c, allClients)
		}
	}

	if rmqtest.CompareVersions(javapeertest.ClientVersion(), "5.0.0") < 0 && slices.Contains(clients, "java-auto-batch") {
		t.Logf("the Java client %s has no setAutoBatch: no Java autoBatch column", javapeertest.ClientVersion())
		clients = slices.DeleteFunc(clients, func(c string) bool { return c == "java-auto-batch" })
	}

	cl := rmqtest.Start(t)
	javapeertest.Jar(t) // build before the clock starts
	brokerCPU := brokerCPUReader(t, cl)
	pinned := os.Getenv("VERSUS_PIN") == "1"
	if pinned {
		versusPin(t, cl)
	}
	ctx := context.Background()
	// The settings for every client: JSON headers, compression off, 2 retries, 10 s.
	f := &producerFlags{namesrv: cl.NameServer(), logLevel: "off",
		sets: []string{"serialize=json", "send_timeout=10s", "retries=2", "async_retries=2"}}
	newProducer := func(extra ...send.Option) *rocketsend.Producer {
		opts := append([]send.Option{send.WithAsyncBackpressure(inflight, 1<<40, true),
			send.WithCompression(0, codec.DefaultCompressionType, codec.DefaultCompressLevel)}, extra...)
		p, err := f.producer(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		return p
	}
	p, pAB := newProducer(), newProducer(send.WithAutoBatch(true))
	floorHdr := floorHeader{serialize: codec.SerializeJSON, group: defaultCLIGroup, createTopicKey: send.DefaultTopicKey, defaultTopicQueueNums: 4}

	samples := map[string]map[string][]versusSample{} // load -> client key -> rounds
	var javaSerialize string
	for _, load := range loads {
		samples[load] = map[string][]versusSample{}
		var order []string // the clients that take part in this load
		for _, c := range clients {
			switch {
			case load == "oneway" && (c == "floor" || strings.HasSuffix(c, "auto-batch")):
				// No floor for sends nobody answers; auto-batching never holds a oneway send
				// (Java's nor rocketsend's), so those columns would repeat the unbatched ones.
			default:
				order = append(order, c)
			}
		}
		for r := 0; r < rounds; r++ {
			for i := range order {
				client := order[(i+r)%len(order)] // rotate the order every round
				topic := fmt.Sprintf("rs_versus_%s_%s_%d_%d", load, strings.ReplaceAll(client, "-", "_"), r, time.Now().UnixNano()%1e6)
				versusTopic(t, p, topic)
				var s versusSample
				switch client {
				case "rocketsend", "rocketsend-auto-batch", "floor":
					o := benchOptions{topic: topic, count: count, size: size, mode: load, concurrency: senders,
						inflight: inflight, warmup: 500, otherCPU: brokerCPU}
					var res *benchResult
					switch client {
					case "rocketsend":
						res = benchRun(ctx, p, o, nil)
					case "rocketsend-auto-batch":
						res = benchRun(ctx, pAB, o, nil)
					case "floor":
						if load == "sync" {
							o.inflight = senders // as many outstanding as the sync senders have
						}
						o.mode = "floor"
						var err error
						if res, err = floorRun(ctx, ctx, p, o, floorHdr, nil); err != nil {
							t.Fatal(err)
						}
					}
					if res.Failed > 0 || res.Unsent > 0 {
						t.Fatalf("%s %s round %d: %d failed, %d unsent: %s", client, load, r+1, res.Failed, res.Unsent, res.FirstError)
					}
					if c := res.Stored; c == nil || c.Error != "" || c.Stored < c.Acknowledged {
						t.Fatalf("%s %s round %d: not every message stored: %+v", client, load, r+1, c)
					}
					s = versusSample{msgsPerSec: res.MsgsPerSec, sent: res.Sent, clientCPU: int64(res.CPUNanosPerMsg * float64(res.Sent+res.Failed)),
						brokerCPU: res.OtherCPUNanos, p50: res.P50Ms, p99: res.P99Ms, storedRate: res.StoredMsgsPerSec}
				case "java", "java-auto-batch":
					var b0, b1 int64
					var t0 time.Time
					storedAt := make(chan time.Time, 1) // oneway: when the brokers held every message
					threads := senders
					res := javapeertest.Produce(t, cl.NameServer(), topic, javapeertest.ProduceOptions{
						Count: count, Size: size, Mode: load, Inflight: inflight, Threads: threads, Warmup: 500,
						AutoBatch: client == "java-auto-batch", NoCompress: true, SendTimeout: 10 * time.Second,
						OnPhase: func(ph string) {
							if ph == "start" {
								b0, t0 = brokerCPU(), time.Now()
							} else {
								if load == "oneway" {
									// From the last send's return, as bench's stored check
									// does for rocketsend: the JVM's exit is not in it.
									go func() {
										_, at, _ := waitStored(context.Background(), p, topic, int64(count+500), 10*time.Second)
										storedAt <- at
									}()
								}
								b1 = brokerCPU()
							}
						}})
					javaSerialize = res.Serialize
					want := int64(res.Sent + res.WarmedUp)
					stored, _, err := waitStored(context.Background(), p, topic, want, 10*time.Second)
					if err != nil {
						t.Fatalf("max offsets of %s: %v", topic, err)
					}
					if stored < want {
						t.Fatalf("%s %s round %d: the brokers stored %d messages, Java sent %d (+%d warmup)", client, load, r+1, stored, res.Sent, res.WarmedUp)
					}
					s = versusSample{msgsPerSec: res.MsgsPerSec, sent: int64(res.Sent), clientCPU: res.CPUNanos,
						brokerCPU: cpuDelta(b0, b1), p50: res.P50Ms, p99: res.P99Ms}
					if load == "oneway" && !t0.IsZero() {
						if at := <-storedAt; !at.IsZero() {
							s.storedRate = float64(res.Sent) / at.Sub(t0).Seconds()
						}
					}
				}
				t.Logf("%s round %d %-22s %8.0f msgs/s  client CPU %6.2f s/100k  broker CPU %6.2f s/100k  p50 %7.2f ms  p99 %7.2f ms",
					load, r+1, client, s.msgsPerSec, per100k(s.clientCPU, s.sent), per100k(s.brokerCPU, s.sent), s.p50, s.p99)
				samples[load][client] = append(samples[load][client], s)
			}
		}
	}
	out := versusReport(samples, loads, clients, versusHeader{count: count, size: size, inflight: inflight, senders: senders,
		rounds: rounds, pinned: pinned, broker: cl.Version(), javaClient: javapeertest.ClientVersion(), javaSerialize: javaSerialize})
	fmt.Print(out)
	t.Log(out)
}

// versusTopic creates topic on both brokers (4 queues each) and waits until the route lists both.
func versusTopic(t *testing.T, p *rocketsend.Producer, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
		t.Fatal(err)
	}
	for {
		rd, err := p.TopicRoute(ctx, topic)
		if err == nil && len(rd.QueueDatas) == 2 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s: not routed to both brokers: %v", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// versusPin (VERSUS_PIN=1) gives the client a core of its own: every thread of this process, and
// so the Java client's JVM it starts (a child inherits the mask), runs on CPU 0, and every thread
// of both brokers on the other CPUs. GOMAXPROCS becomes 1, what a Go program started on one CPU
// gets, as the JVM sizes its pools for the one CPU it sees. Used to measure what a client can do
// when the brokers do not take its CPU, as on their own machines; the masks and GOMAXPROCS are
// put back when the test ends.
func versusPin(t *testing.T, cl *rmqtest.Cluster) {
	n := runtime.NumCPU()
	if n < 2 {
		t.Fatalf("VERSUS_PIN=1 needs 2 CPUs or more, this machine has %d", n)
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Fatalf("VERSUS_PIN=1 needs taskset (util-linux): %v", err)
	}
	all := fmt.Sprintf("0-%d", n-1)
	pin := func(pid int, cpus string) {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput(); err != nil {
			t.Fatalf("taskset -a -p -c %s %d: %v: %s", cpus, pid, err, out)
		}
	}
	for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
		pid, err := cl.BrokerPID(b)
		if err != nil {
			t.Fatalf("VERSUS_PIN=1: %v", err)
		}
		pin(pid, fmt.Sprintf("1-%d", n-1))
		t.Cleanup(func() { pin(pid, all) })
	}
	pin(os.Getpid(), "0")
	procs := runtime.GOMAXPROCS(1)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		pin(os.Getpid(), all)
	})
	t.Logf("VERSUS_PIN=1: clients on CPU 0 (GOMAXPROCS=1), both brokers on CPUs 1-%d", n-1)
}

// brokerCPUReader returns a reader of both brokers' JVMs' user+system CPU time in nanoseconds
// (/proc/<pid>/stat), or of -1 when the pids or /proc are not there.
func brokerCPUReader(t *testing.T, cl *rmqtest.Cluster) func() int64 {
	var pids []int
	for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
		pid, err := cl.BrokerPID(b)
		if err != nil {
			t.Logf("broker CPU not measured: %v", err)
			return func() int64 { return -1 }
		}
		pids = append(pids, pid)
	}
	tick := int64(100) // USER_HZ
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			tick = v
		}
	}
	return func() int64 {
		var sum int64
		for _, pid := range pids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				return -1
			}
			// Fields after the command name (which may hold spaces, inside parentheses): state is
			// field 3, utime 14, stime 15.
			s := string(b)
			fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(fs) < 13 {
				return -1
			}
			ut, _ := strconv.ParseInt(fs[11], 10, 64)
			st, _ := strconv.ParseInt(fs[12], 10, 64)
			sum += ut + st
		}
		return sum * (1e9 / tick)
	}
}

func cpuDelta(before, after int64) int64 {
	if before < 0 || after < 0 {
		return -1
	}
	return after - before
}

// per100k is CPU seconds per 100 000 messages (negative: unknown).
func per100k(ns, msgs int64) float64 {
	if ns < 0 || msgs <= 0 {
		return -1
	}
	return float64(ns) / 1e9 / float64(msgs) * 1e5
}

type versusHeader struct {
	count, size, inflight, senders, rounds int
	broker, javaClient, javaSerialize      string
	pinned                                 bool // VERSUS_PIN=1
}

// versusReport prints, per load, each client's medians (min-max for msgs/s) and the ratios.
func versusReport(samples map[string]map[string][]versusSample, loads, clients []string, h versusHeader) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nRocketMQ %s, Java client %s (headers: %s); every client: JSON headers, compression off, 2 retries, 10 s timeout.\n",
		h.broker, h.javaClient, h.javaSerialize)
	fmt.Fprintf(&b, "%d x %d B per client and round, %d round(s), clients alternating; medians (min-max); CPU in s per 100k msgs.\n",
		h.count, h.size, h.rounds)
	if h.pinned {
		fmt.Fprintln(&b, "VERSUS_PIN=1: every client on CPU 0 alone (Go: GOMAXPROCS=1), both brokers on the other CPUs.")
	}
	name := func(key string) string {
		for _, c := range versusClients {
			if c.key == key {
				return c.name
			}
		}
		return key
	}
	type med struct{ rate, lo, hi, ccpu, bcpu, p50, p99, stored, slo, shi float64 }
	for _, load := range loads {
		switch load {
		case "async":
			fmt.Fprintf(&b, "\nasync, %d in flight (floor: the same):\n", h.inflight)
		case "sync":
			fmt.Fprintf(&b, "\nsync, %d senders (floor: %d in flight):\n", h.senders, h.senders)
		default:
			fmt.Fprintf(&b, "\noneway, %d senders (no floor; auto-batching never holds oneway sends):\n", h.senders)
		}
		tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
		if load == "oneway" {
			fmt.Fprintln(tw, "client\tmsgs/s\tmin-max\tstored msgs/s\tmin-max\tclient CPU\tbroker CPU\t")
		} else {
			fmt.Fprintln(tw, "client\tmsgs/s\tmin-max\tclient CPU\tbroker CPU\tp50 ms\tp99 ms\t")
		}
		meds := map[string]med{}
		for _, c := range clients {
			ss := samples[load][c]
			if len(ss) == 0 {
				continue
			}
			pick := func(f func(versusSample) float64) []float64 {
				var v []float64
				for _, s := range ss {
					v = append(v, f(s))
				}
				slices.Sort(v)
				return v
			}
			rates := pick(func(s versusSample) float64 { return s.msgsPerSec })
			m := med{rate: median(rates), lo: rates[0], hi: rates[len(rates)-1],
				ccpu: median(pick(func(s versusSample) float64 { return per100k(s.clientCPU, s.sent) })),
				bcpu: median(pick(func(s versusSample) float64 { return per100k(s.brokerCPU, s.sent) })),
				p50:  median(pick(func(s versusSample) float64 { return s.p50 })),
				p99:  median(pick(func(s versusSample) float64 { return s.p99 }))}
			if load == "oneway" { // no latency: the time to queue a frame is not a round trip
				st := pick(func(s versusSample) float64 { return s.storedRate })
				m.stored, m.slo, m.shi = median(st), st[0], st[len(st)-1]
				meds[c] = m
				fmt.Fprintf(tw, "%s\t%.0f\t%.0f-%.0f\t%.0f\t%.0f-%.0f\t%s\t%s\t\n", name(c), m.rate, m.lo, m.hi,
					m.stored, m.slo, m.shi, cpuText(m.ccpu), cpuText(m.bcpu))
				continue
			}
			meds[c] = m
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f-%.0f\t%s\t%s\t%.2f\t%.2f\t\n", name(c), m.rate, m.lo, m.hi, cpuText(m.ccpu), cpuText(m.bcpu), m.p50, m.p99)
		}
		_ = tw.Flush()
		var ratios []string
		for _, num := range []string{"rocketsend", "rocketsend-auto-batch"} {
			for _, den := range []string{"java", "java-auto-batch", "floor"} {
				n, okN := meds[num]
				d, okD := meds[den]
				if okN && okD && d.rate > 0 {
					ratios = append(ratios, fmt.Sprintf("%s/%s %.2fx", name(num), name(den), n.rate/d.rate))
				}
			}
		}
		if len(ratios) > 0 {
			fmt.Fprintf(&b, "msgs/s ratios: %s\n", strings.Join(ratios, ", "))
		}
		if n, d := meds["rocketsend"], meds["java"]; load == "oneway" && d.stored > 0 {
			fmt.Fprintf(&b, "stored msgs/s ratio: rocketsend/Java %.2fx\n", n.stored/d.stored)
		}
	}
	return b.String()
}

func cpuText(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
