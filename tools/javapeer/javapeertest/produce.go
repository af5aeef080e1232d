package javapeertest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ProduceOptions configures Produce. The zero value sends 1000 messages of
// 1 KiB synchronously from one thread.
type ProduceOptions struct {
	Group    string // producer group (default: a fresh one)
	Count    int    // messages to send (default 1000)
	Size     int    // body bytes (default 1024); bodies are Body(i, Size)
	Mode     string // "sync" (default), "async" or "oneway"
	Threads  int    // sending threads (default 1)
	Inflight int    // async: most sends outstanding at once (default 256)
	// HashKey selects queues with SelectMessageQueueByHash and HashKey as
	// its argument, and reports every message (ProduceResult.Messages).
	HashKey string
	// ListQueues reports the producer's queue list, in the order the
	// selector is given it (ProduceResult.Queues).
	ListQueues bool
	// PrintSent reports every message even without HashKey.
	PrintSent bool
	Warmup    int // sync sends before the measured phase (tag "javapeer-warmup"; they stay on the topic)
	// Tags, Keys and Properties values may contain "{i}", replaced by the
	// message index.
	Tags        string
	Keys        string
	Properties  map[string]string
	SendTimeout time.Duration // per send (client default 3 s)
	// AutoBatch turns on the client's auto-batching, setAutoBatch(true) with its defaults
	// (batchMaxDelayMs 10, batchMaxBytes 32 KiB, totalBatchMaxBytes 32 MiB), for sync and async
	// sends; Java never batches oneway sends. It needs a 5.x client.
	AutoBatch bool
	// NoCompress keeps every body uncompressed (compressMsgBodyOverHowmuch = MaxInt; the client
	// compresses bodies of 4 KiB and more by default).
	NoCompress bool
	// OnPhase, when set, is called with "start" and "end" as the JVM enters and leaves its timed
	// part (after warmup, before the summary), so the caller can sample other processes over it,
	// such as the brokers' CPU. It runs on the test goroutine reading the JVM's output.
	OnPhase func(phase string)
	Timeout time.Duration // whole send phase (default 5 min)
	// AllowFailures returns results with failed sends or a timeout instead
	// of failing the test.
	AllowFailures bool
}

// SentMessage is one send's result (with HashKey or PrintSent).
type SentMessage struct {
	Index       int     `json:"index"`
	QueueID     int     `json:"queueId"`
	BrokerName  string  `json:"brokerName"`
	MsgID       string  `json:"msgId"`
	OffsetMsgID string  `json:"offsetMsgId"`
	QueueOffset int64   `json:"queueOffset"`
	Status      string  `json:"status"` // SendStatus; "" for oneway
	LatencyMs   float64 `json:"latencyMs"`
	Error       string  `json:"error"` // failed sends only
}

// Queue is one message queue of a topic.
type Queue struct {
	BrokerName string `json:"brokerName"`
	QueueID    int    `json:"queueId"`
}

// ProduceResult is what the Java producer measured. Latency is per message
// from the start of the send call to its result (async: the callback);
// CPUNanos is the JVM's process CPU time (all threads) during the send
// phase only, which excludes JVM start, producer start, route lookup and
// warmup.
type ProduceResult struct {
	Sent       int     `json:"sent"`   // successful sends (including non-SEND_OK statuses)
	Failed     int     `json:"failed"` // exceptions / onException
	NotOK      int     `json:"notOk"`  // successful sends with a status other than SEND_OK
	Unfinished int     `json:"unfinished"`
	TimedOut   bool    `json:"timedOut"`
	Seconds    float64 `json:"seconds"` // send phase wall time
	MsgsPerSec float64 `json:"msgsPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	CPUNanos   int64   `json:"cpuNanos"`
	PeakRSSKiB int64   `json:"peakRssKiB"` // VmHWM of the JVM at the end (Linux; -1 elsewhere)
	FirstError string  `json:"firstError"`
	AutoBatch  bool    `json:"autoBatch"`
	WarmedUp   int     `json:"warmedUp"` // warmup sends that succeeded (stored before the timed part)
	// Serialize is the header serialization the client used: "JSON" (its default) or "ROCKETMQ".
	Serialize string `json:"serialize"`

	Messages     []SentMessage `json:"-"` // with HashKey or PrintSent, in completion order
	Queues       []Queue       `json:"-"` // with ListQueues
	QueuesSource string        `json:"-"` // "selector" (the list the selector got) or "topicPublishInfo"
	// Wall is the whole JVM run as seen from Go (start to exit).
	Wall time.Duration `json:"-"`
}

// Produce runs the Java producer to completion and returns its summary. It
// fails the test when the JVM fails, or (unless AllowFailures) when a send
// failed or the send phase timed out.
func Produce(t testing.TB, namesrv, topic string, opts ProduceOptions) ProduceResult {
	t.Helper()
	if opts.Count == 0 {
		opts.Count = 1000
	}
	if opts.Size == 0 {
		opts.Size = 1024
	}
	if opts.Mode == "" {
		opts.Mode = "sync"
	}
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	if opts.Inflight == 0 {
		opts.Inflight = 256
	}
	if opts.Timeout == 0 {
		opts.Timeout = defaultProduce
	}
	args := []string{"produce", "--namesrv", namesrv}
	args = append(args, strArg("topic", topic)...)
	if opts.Group != "" {
		args = append(args, strArg("group", opts.Group)...)
	}
	args = append(args,
		"--count", strconv.Itoa(opts.Count), "--size", strconv.Itoa(opts.Size),
		"--mode", opts.Mode, "--threads", strconv.Itoa(opts.Threads),
		"--inflight", strconv.Itoa(opts.Inflight), "--timeout-ms", ms(opts.Timeout))
	if opts.HashKey != "" {
		args = append(args, strArg("hash-key", opts.HashKey)...)
	}
	if opts.ListQueues {
		args = append(args, "--queues")
	}
	if opts.PrintSent {
		args = append(args, "--print-sent")
	}
	if opts.Warmup > 0 {
		args = append(args, "--warmup", strconv.Itoa(opts.Warmup))
	}
	if opts.Tags != "" {
		args = append(args, strArg("tags", opts.Tags)...)
	}
	if opts.Keys != "" {
		args = append(args, strArg("keys", opts.Keys)...)
	}
	names := make([]string, 0, len(opts.Properties))
	for k := range opts.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, strArg("prop", k+"="+opts.Properties[k])...)
	}
	if opts.SendTimeout > 0 {
		args = append(args, "--send-timeout-ms", ms(opts.SendTimeout))
	}
	if opts.AutoBatch {
		args = append(args, "--auto-batch")
	}
	if opts.NoCompress {
		args = append(args, "--no-compress")
	}

	p := launch(t, args...)
	deadline := time.Now().Add(opts.Timeout + defaultReady) // + JVM/producer start and shutdown
	var res ProduceResult
	var summary bool
	for {
		line, ok := p.next(deadline)
		if !ok {
			break
		}
		switch eventOf(line) {
		case "sent", "failed":
			var m SentMessage
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("javapeertest: bad line %q: %v", line, err)
			}
			res.Messages = append(res.Messages, m)
		case "queues":
			var q struct {
				Source string  `json:"source"`
				Queues []Queue `json:"queues"`
			}
			if err := json.Unmarshal(line, &q); err != nil {
				t.Fatalf("javapeertest: bad line %q: %v", line, err)
			}
			res.Queues, res.QueuesSource = q.Queues, q.Source
		case "phase":
			var ph struct {
				Phase string `json:"phase"`
			}
			if err := json.Unmarshal(line, &ph); err != nil {
				t.Fatalf("javapeertest: bad line %q: %v", line, err)
			}
			if opts.OnPhase != nil {
				opts.OnPhase(ph.Phase)
			}
		case "summary":
			if err := json.Unmarshal(line, &res); err != nil {
				t.Fatalf("javapeertest: bad summary %q: %v", line, err)
			}
			summary = true
		}
	}
	if !p.ended() {
		p.close()
		t.Fatalf("javapeertest: produce to %s did not finish within %v (%s); stderr:\n%s",
			topic, opts.Timeout+defaultReady, p.describe(), p.stderr.String())
	}
	exitErr, ok := p.wait(killWait)
	res.Wall = time.Since(p.started)
	if !ok || exitErr != nil || !summary {
		t.Fatalf("javapeertest: produce to %s failed (%s, summary printed: %v); stderr:\n%s",
			topic, p.describe(), summary, p.stderr.String())
	}
	if !opts.AllowFailures && (res.Failed > 0 || res.TimedOut || res.Sent != opts.Count) {
		t.Fatalf("javapeertest: produce to %s: sent %d of %d, failed %d, timed out %v, first error: %s; stderr:\n%s",
			topic, res.Sent, opts.Count, res.Failed, res.TimedOut, res.FirstError, p.stderr.String())
	}
	return res
}

// Body returns the body javapeer gives message i of size bytes:
// "javapeer-<i>-" followed by 'a'+(j%26) at byte j, cut to size.
func Body(i, size int) []byte {
	prefix := "javapeer-" + strconv.Itoa(i) + "-"
	b := make([]byte, size)
	for j := range b {
		if j < len(prefix) {
			b[j] = prefix[j]
		} else {
			b[j] = byte('a' + j%26)
		}
	}
	return b
}

// RequestOptions configures Request.
type RequestOptions struct {
	Group          string
	Count          int           // requests, sent one after the other (default 1)
	Size           int           // body bytes (default 64); bodies are Body(i, Size)
	RequestTimeout time.Duration // per request (default 5 s)
	Timeout        time.Duration // whole run (default 2 min)
	// API is "callback" (default): request(msg, RequestCallback, timeout),
	// waiting for the reply in javapeer; or "sync": the blocking
	// request(msg, timeout), which in rocketmq-client 5.3.1+ (5.3.3
	// included) fails at once with "send request message ... OK, but wait
	// reply message timeout" (apache/rocketmq#9319).
	API string
}

// RequestResult is one request of the Java requester.
type RequestResult struct {
	Index int     `json:"index"`
	OK    bool    `json:"-"`
	RTTMs float64 `json:"rttMs"`
	// Reply is the reply as DefaultMQProducer.request returned it (the
	// client builds it from the broker's PUSH_REPLY_MESSAGE_TO_CLIENT).
	Reply Message `json:"reply"`
	Error string  `json:"error"`
}

// Request runs the Java requester (DefaultMQProducer.request, the other
// side of Reply) to completion: Count requests to topic, one at a time.
// Failed requests are reported in the results, not as test failures.
func Request(t testing.TB, namesrv, topic string, opts RequestOptions) []RequestResult {
	t.Helper()
	if opts.Count == 0 {
		opts.Count = 1
	}
	if opts.Size == 0 {
		opts.Size = 64
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	args := []string{"request", "--namesrv", namesrv}
	args = append(args, strArg("topic", topic)...)
	if opts.Group != "" {
		args = append(args, strArg("group", opts.Group)...)
	}
	args = append(args, "--count", strconv.Itoa(opts.Count), "--size", strconv.Itoa(opts.Size),
		"--request-timeout-ms", ms(opts.RequestTimeout), "--timeout-ms", ms(opts.Timeout))
	if opts.API != "" {
		args = append(args, "--api", opts.API)
	}
	p := launch(t, args...)
	deadline := time.Now().Add(opts.Timeout + defaultReady)
	var out []RequestResult
	summary := false
	for {
		line, ok := p.next(deadline)
		if !ok {
			break
		}
		switch e := eventOf(line); e {
		case "reply", "requestFailed":
			var r RequestResult
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("javapeertest: bad line %q: %v", line, err)
			}
			r.OK = e == "reply"
			out = append(out, r)
		case "summary":
			summary = true
		}
	}
	if !p.ended() {
		p.close()
		t.Fatalf("javapeertest: request to %s did not finish (%s); stderr:\n%s", topic, p.describe(), p.stderr.String())
	}
	if exitErr, ok := p.wait(killWait); !ok || exitErr != nil || !summary {
		t.Fatalf("javapeertest: request to %s failed (%s); stderr:\n%s", topic, p.describe(), p.stderr.String())
	}
	return out
}

var (
	hashMu    sync.Mutex
	hashCache = map[string]int{}
)

// HashQueue returns the index of the queue Java's SelectMessageQueueByHash
// picks for key among queues queues (abs(key.hashCode() % queues), computed
// by the real Java class). Results are cached per process.
func HashQueue(t testing.TB, key string, queues int) int {
	t.Helper()
	return HashQueues(t, queues, key)[0]
}

// HashQueues is HashQueue for several keys, in one JVM.
func HashQueues(t testing.TB, queues int, keys ...string) []int {
	t.Helper()
	if queues < 1 {
		t.Fatalf("javapeertest: HashQueues: queues must be >= 1, got %d", queues)
	}
	cacheKey := func(k string) string { return strconv.Itoa(queues) + "\x00" + k }
	hashMu.Lock()
	var missing []string
	for _, k := range keys {
		if _, ok := hashCache[cacheKey(k)]; !ok {
			missing = append(missing, k)
		}
	}
	hashMu.Unlock()
	if len(missing) > 0 {
		args := []string{"hash", "--queues", strconv.Itoa(queues)}
		for _, k := range missing {
			args = append(args, strArg("key", k)...)
		}
		p := launch(t, args...)
		deadline := time.Now().Add(defaultReady)
		got := map[string]int{}
		for {
			line, ok := p.next(deadline)
			if !ok {
				break
			}
			var h struct {
				Key   string `json:"key"`
				Index int    `json:"index"`
			}
			if err := json.Unmarshal(line, &h); err != nil {
				t.Fatalf("javapeertest: bad hash line %q: %v", line, err)
			}
			got[h.Key] = h.Index
		}
		exitErr, ok := p.wait(killWait)
		if !ok || exitErr != nil || len(got) != len(dedupe(missing)) {
			t.Fatalf("javapeertest: hash: got %d of %d keys (%s); stderr:\n%s", len(got), len(missing), p.describe(), p.stderr.String())
		}
		hashMu.Lock()
		for k, v := range got {
			hashCache[cacheKey(k)] = v
		}
		hashMu.Unlock()
	}
	hashMu.Lock()
	defer hashMu.Unlock()
	out := make([]int, len(keys))
	for i, k := range keys {
		v, ok := hashCache[cacheKey(k)]
		if !ok {
			t.Fatalf("javapeertest: hash: no result for key %q", k)
		}
		out[i] = v
	}
	return out
}

func dedupe(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// String summarises a result for logs.
func (r ProduceResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d failed %d in %.3fs: %.0f msg/s, p50 %.2f ms, p99 %.2f ms, CPU %.2fs",
		r.Sent, r.Failed, r.Seconds, r.MsgsPerSec, r.P50Ms, r.P99Ms, float64(r.CPUNanos)/1e9)
	if r.PeakRSSKiB > 0 {
		fmt.Fprintf(&b, ", peak RSS %.0f MiB", float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}
