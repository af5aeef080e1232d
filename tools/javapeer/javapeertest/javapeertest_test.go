package javapeertest

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// portBase of this package's private cluster: NameServer 27876, brokers
// 28911 / 28921 (and 28909-28912, 28919-28922), away from the shared one on
// 9876, the auth one on 19876 and rmqtest's own test on 29876 (test binaries
// of different packages run concurrently under `go test ./...`), and below
// Linux's ephemeral port range (32768+).
const portBase = 27876

// javaStringHashCode is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over the UTF-16 code units of s, in int32 arithmetic (wrapping).
func javaStringHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaHashQueue is SelectMessageQueueByHash's choice among n queues:
// value = hashCode % n (Java's remainder keeps the dividend's sign, like
// Go's), negated when negative.
func javaHashQueue(key string, n int) int {
	v := javaStringHashCode(key) % int32(n)
	if v < 0 {
		v = -v
	}
	return int(v)
}

func TestJavaStringHashCode(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int32
	}{
		{"", 0},
		{"a", 97},
		{"abc", 96354},
		{"Aa", 2112}, {"BB", 2112}, // the classic collision
		{"hello world", 1794106052},
		{"polygenelubricants", -2147483648}, // math.MinInt32: % n is still > -n
		{"订单-42", -711980392},
		{"😀", 1772899}, // U+1F600 = surrogates D83D DE00: 0xD83D*31 + 0xDE00
	} {
		if got := javaStringHashCode(tc.s); got != tc.want {
			t.Errorf("javaStringHashCode(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

// hashKeys mixes ASCII, CJK, emoji (surrogate pairs), a MinInt32 hash and
// negative hashes.
var hashKeys = []string{
	"", "a", "abc", "order-1", "order-42", "user-7", "Aa", "BB",
	"polygenelubricants", "订单-42", "订单-4242-支付", "😀", "emoji-😀-key", "é", "ключ",
	"a-very-long-key-" + strings.Repeat("xyz", 40),
}

// TestHashQueueMatchesJava needs Java (the jar) but no broker.
func TestHashQueueMatchesJava(t *testing.T) {
	Jar(t)
	if d := BuildDuration(); d > 0 {
		t.Logf("jar built in %v", d.Round(time.Millisecond))
	}
	for _, n := range []int{1, 3, 8, 16} {
		start := time.Now()
		got := HashQueues(t, n, hashKeys...)
		t.Logf("hash over %d queues: one JVM, %v", n, time.Since(start).Round(time.Millisecond))
		for i, k := range hashKeys {
			if want := javaHashQueue(k, n); got[i] != want {
				t.Errorf("HashQueue(%q, %d) = %d (Java), Go computes %d (hashCode %d)", k, n, got[i], want, javaStringHashCode(k))
			}
		}
	}
	// Cached: no JVM.
	start := time.Now()
	if got, want := HashQueue(t, "订单-42", 8), javaHashQueue("订单-42", 8); got != want {
		t.Errorf("HashQueue(订单-42, 8) = %d, want %d", got, want)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("cached HashQueue took %v", d)
	}
}

func TestBody(t *testing.T) {
	if got := string(Body(7, 20)); got != "javapeer-7-lmnopqrst" {
		t.Errorf("Body(7, 20) = %q", got)
	}
	if got := string(Body(123, 5)); got != "javap" {
		t.Errorf("Body(123, 5) = %q", got)
	}
}

func TestStrArg(t *testing.T) {
	if got := strArg("key", "abc-1"); !slices.Equal(got, []string{"--key", "abc-1"}) {
		t.Errorf("strArg ascii = %q", got)
	}
	if got := strArg("key", "订单"); got[0] != "--key-base64" || got[1] != "6K6i5Y2V" {
		t.Errorf("strArg non-ascii = %q", got)
	}
}

func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}

// TestCluster groups the tests that need the private cluster, so it is
// started once (an Own cluster stops when the last test using it ends).
func TestCluster(t *testing.T) {
	Jar(t) // build (or skip) before paying for a cluster
	c := rmqtest.Start(t, rmqtest.Own(portBase))
	t.Run("ProduceConsume", func(t *testing.T) { testProduceConsume(t, c) })
	t.Run("HashKeyOneQueue", func(t *testing.T) { testHashKeyOneQueue(t, c) })
	t.Run("RequestReply", func(t *testing.T) { testRequestReply(t, c) })
	t.Run("ProduceModes", func(t *testing.T) { testProduceModes(t, c) })
	t.Run("ProducerThroughput", func(t *testing.T) { testProducerThroughput(t, c) })
}

// testProduceModes runs every mode the side-by-side benchmark uses (cmd/rocketsend
// TestVersusJava): async, sync and oneway, auto-batching on and off, compression off.
func testProduceModes(t *testing.T, c *rmqtest.Cluster) {
	autoBatch := rmqtest.CompareVersions(ClientVersion(), "5.0.0") >= 0
	for _, o := range []ProduceOptions{
		{Mode: "async", Inflight: 64},
		{Mode: "async", Inflight: 64, AutoBatch: autoBatch},
		{Mode: "sync", Threads: 4, AutoBatch: autoBatch},
		{Mode: "oneway", Threads: 4},
	} {
		topic := uniqueTopic("jp_modes")
		c.CreateTopic(t, topic, 2)
		o.Count, o.Size, o.NoCompress, o.SendTimeout, o.Warmup = 300, 5000, true, 10*time.Second, 3
		var phases []string
		o.OnPhase = func(p string) { phases = append(phases, p) }
		res := Produce(t, c.NameServer(), topic, o)
		if res.Sent != o.Count || res.Failed != 0 || res.AutoBatch != o.AutoBatch || res.Serialize != "JSON" || res.CPUNanos <= 0 || res.WarmedUp != 3 {
			t.Errorf("%s auto-batch %v: %+v", o.Mode, o.AutoBatch, res)
		}
		if strings.Join(phases, ",") != "start,end" {
			t.Errorf("%s: phases %v", o.Mode, phases)
		}
	}
}

func testProduceConsume(t *testing.T, c *rmqtest.Cluster) {
	const n, size = 200, 300
	topic := uniqueTopic("jp_pc")
	c.CreateTopic(t, topic, 4)

	cons := Consume(t, c.NameServer(), topic)
	r := cons.Ready()
	t.Logf("consumer ready: %v from process start (JVM: %d ms since JVM start, %d ms after consumer.start()), %d queues, client %s %s",
		r.Elapsed.Round(time.Millisecond), r.SinceJVMStartMs, r.ReadyMs, r.Queues, r.ClientVersion, r.ClientID)
	if r.Queues != 8 {
		t.Errorf("consumer owns %d queues at ready, want 8 (4 on each broker)", r.Queues)
	}

	res := Produce(t, c.NameServer(), topic, ProduceOptions{
		Count: n, Size: size, Mode: "sync",
		Tags: "TagA", Keys: "key-{i} other-{i}",
		Properties: map[string]string{"jp_seq": "{i}", "jp_text": "värde ✓ 订单 😀"},
		PrintSent:  true,
	})
	t.Logf("Java producer (sync, 1 thread): %s; JVM run %v", res, res.Wall.Round(time.Millisecond))
	sent := map[int]SentMessage{}
	for _, m := range res.Messages {
		sent[m.Index] = m
	}
	if len(sent) != n {
		t.Fatalf("producer reported %d sends, want %d", len(sent), n)
	}

	msgs := cons.Collect(n, 60*time.Second)
	t.Logf("consumer peak RSS %d MiB", cons.PeakRSSKiB()/1024)
	seen := map[int]bool{}
	perBroker := map[string]int{}
	for _, m := range msgs {
		idx, err := strconv.Atoi(m.Properties["jp_seq"])
		if err != nil {
			t.Fatalf("message without jp_seq: %v %v", m, m.Properties)
		}
		if seen[idx] {
			t.Errorf("message %d delivered twice", idx)
		}
		seen[idx] = true
		perBroker[m.BrokerName]++
		if !bytes.Equal(m.Body, Body(idx, size)) {
			t.Errorf("message %d: body %q, want %q", idx, m.Body, Body(idx, size))
		}
		wantKeys := fmt.Sprintf("key-%d other-%d", idx, idx)
		props := map[string]string{
			"TAGS": "TagA", "KEYS": wantKeys, "WAIT": "true", "CLUSTER": rmqtest.ClusterName,
			"UNIQ_KEY": m.MsgID, "jp_seq": strconv.Itoa(idx), "jp_text": "värde ✓ 订单 😀",
		}
		if !c.AtLeast("5.0.0") {
			delete(props, "WAIT") // 4.x leaves WAIT=true out of the stored message
		}
		for k, v := range props {
			if m.Properties[k] != v {
				t.Errorf("message %d: property %s = %q, want %q (all: %q)", idx, k, m.Properties[k], v, m.Properties)
			}
		}
		if m.Topic != topic || m.Tags != "TagA" || m.Keys != wantKeys || m.ReconsumeTimes != 0 || m.SysFlag != 0 || m.Flag != 0 {
			t.Errorf("message %d: unexpected fields %+v", idx, m)
		}
		s := sent[idx]
		if m.MsgID != s.MsgID || m.OffsetMsgID != s.OffsetMsgID || m.BrokerName != s.BrokerName ||
			m.QueueID != s.QueueID || m.QueueOffset != s.QueueOffset {
			t.Errorf("message %d: consumed %s/%d@%d id %s/%s, producer reported %s/%d@%d id %s/%s", idx,
				m.BrokerName, m.QueueID, m.QueueOffset, m.MsgID, m.OffsetMsgID,
				s.BrokerName, s.QueueID, s.QueueOffset, s.MsgID, s.OffsetMsgID)
		}
		if want := c.BrokerAddr(m.BrokerName); m.StoreHost != want {
			t.Errorf("message %d: storeHost %q, want %q", idx, m.StoreHost, want)
		}
		if m.BornHost == "" || m.BornTimestamp <= 0 || m.StoreTimestamp < m.BornTimestamp-60_000 || m.StoreSize <= 0 {
			t.Errorf("message %d: implausible host/time fields %+v", idx, m)
		}
	}
	if len(seen) != n {
		t.Errorf("consumed %d distinct messages, want %d", len(seen), n)
	}
	if perBroker[rmqtest.BrokerA] == 0 || perBroker[rmqtest.BrokerB] == 0 {
		t.Errorf("messages per broker %v: want both brokers used", perBroker)
	}
	if m, ok := cons.Next(time.Second); ok {
		t.Errorf("unexpected extra message %v", m)
	}
	start := time.Now()
	cons.Close()
	t.Logf("consumer Close (SIGTERM -> shutdown) took %v", time.Since(start).Round(time.Millisecond))
}

// testHashKeyOneQueue: with a hash key every message lands on one queue, and
// that queue is the HashQueue-th of the producer's queue list, which the
// Java client orders by broker name, then queue id
// (MQClientInstance.topicRouteData2TopicPublishInfo sorts the route's
// QueueData by brokerName and adds queue ids 0..writeQueueNums-1 of each).
func testHashKeyOneQueue(t *testing.T, c *rmqtest.Cluster) {
	const perBroker, count = 4, 20
	topic := uniqueTopic("jp_hash")
	c.CreateTopic(t, topic, perBroker) // 8 queues: broker-a 0..3, broker-b 0..3
	total := 2 * perBroker

	// One key landing on each broker (chosen with the Go computation, then
	// checked against Java).
	var keys []string
	for _, wantA := range []bool{true, false} {
		for _, k := range hashKeys {
			if k != "" && (javaHashQueue(k, total) < perBroker) == wantA {
				keys = append(keys, k)
				break
			}
		}
	}
	if len(keys) != 2 {
		t.Fatalf("no keys covering both brokers among %q", hashKeys)
	}

	orderly := Consume(t, c.NameServer(), topic, Orderly())
	t.Logf("orderly consumer ready after %v", orderly.Ready().Elapsed.Round(time.Millisecond))

	wantOrder := make([]Queue, 0, total)
	for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
		for q := 0; q < perBroker; q++ {
			wantOrder = append(wantOrder, Queue{b, q})
		}
	}
	landed := map[Queue]string{}
	for _, key := range keys {
		res := Produce(t, c.NameServer(), topic, ProduceOptions{Count: count, Size: 64, HashKey: key, ListQueues: true, Keys: key})
		if res.QueuesSource != "selector" || !slices.Equal(res.Queues, wantOrder) {
			t.Errorf("key %q: queue list given to the selector (%s) = %v, want %v", key, res.QueuesSource, res.Queues, wantOrder)
		}
		idx := HashQueue(t, key, total)
		if g := javaHashQueue(key, total); g != idx {
			t.Errorf("key %q: Java picks index %d, Go computes %d", key, idx, g)
		}
		want := wantOrder[idx]
		for _, m := range res.Messages {
			if (Queue{m.BrokerName, m.QueueID}) != want {
				t.Errorf("key %q: message %d landed on %s/%d, want %s/%d (index %d of %d)", key, m.Index, m.BrokerName, m.QueueID, want.BrokerName, want.QueueID, idx, total)
			}
		}
		if len(res.Messages) != count {
			t.Errorf("key %q: %d sent lines, want %d", key, len(res.Messages), count)
		}
		landed[want] = key
		t.Logf("key %q (hashCode %d): index %d -> %s/%d", key, javaStringHashCode(key), idx, want.BrokerName, want.QueueID)
	}

	// The orderly consumer sees each queue's messages in offset order, and
	// (sent one by one from one thread) in send order.
	msgs := orderly.Collect(len(keys)*count, 60*time.Second)
	lastOffset := map[Queue]int64{}
	lastBody := map[Queue]int{}
	for _, m := range msgs {
		q := Queue{m.BrokerName, m.QueueID}
		key, ok := landed[q]
		if !ok || m.Keys != key {
			t.Errorf("orderly: message %v on an unexpected queue or with keys %q", m, m.Keys)
			continue
		}
		if prev, ok := lastOffset[q]; ok && m.QueueOffset != prev+1 {
			t.Errorf("orderly: %s/%d offset %d after %d", q.BrokerName, q.QueueID, m.QueueOffset, prev)
		}
		lastOffset[q] = m.QueueOffset
		var idx int
		if _, err := fmt.Sscanf(string(m.Body), "javapeer-%d-", &idx); err != nil {
			t.Errorf("orderly: body %q: %v", m.Body, err)
		}
		if prev, ok := lastBody[q]; ok && idx != prev+1 {
			t.Errorf("orderly: %s/%d body index %d after %d", q.BrokerName, q.QueueID, idx, prev)
		}
		lastBody[q] = idx
	}
}

func testRequestReply(t *testing.T, c *rmqtest.Cluster) {
	const n, size = 3, 64
	topic := uniqueTopic("jp_rr")
	c.CreateTopic(t, topic, 2)
	resp := Reply(t, c.NameServer(), topic)
	results := Request(t, c.NameServer(), topic, RequestOptions{Count: n, Size: size})
	if len(results) != n {
		t.Fatalf("%d request results, want %d", len(results), n)
	}
	for _, r := range results {
		t.Logf("request %d: ok %v, rtt %.1f ms", r.Index, r.OK, r.RTTMs)
		if !r.OK {
			t.Errorf("request %d failed: %s", r.Index, r.Error)
			continue
		}
		want := append([]byte("reply:"), Body(r.Index, size)...)
		if !bytes.Equal(r.Reply.Body, want) {
			t.Errorf("request %d: reply body %q, want %q", r.Index, r.Reply.Body, want)
		}
		if r.Reply.Properties["MSG_TYPE"] != "reply" || r.Reply.Properties["CORRELATION_ID"] == "" {
			t.Errorf("request %d: reply properties %q", r.Index, r.Reply.Properties)
		}
	}
	for _, ev := range resp.Collect(n, 30*time.Second) {
		t.Logf("responder: request %s stored at %d, handed to the listener at %s (%s ms later)", ev.Request.MsgID,
			ev.Request.StoreTimestamp, ev.Request.Properties["CONSUME_START_TIME"], consumeDelay(ev.Request))
		if !ev.Replied || ev.Status != "SEND_OK" {
			t.Errorf("responder: %+v", ev)
		}
		if ev.ReplyTopic != rmqtest.ClusterName+"_REPLY_TOPIC" || ev.MsgType != "reply" ||
			ev.CorrelationID == "" || ev.CorrelationID != ev.Request.Properties["CORRELATION_ID"] ||
			ev.ReplyToClient == "" || ev.Request.Properties["TTL"] == "" {
			t.Errorf("responder: reply topic %q type %q correlation %q/%q replyTo %q, request properties %q",
				ev.ReplyTopic, ev.MsgType, ev.CorrelationID, ev.Request.Properties["CORRELATION_ID"], ev.ReplyToClient, ev.Request.Properties)
		}
	}

	// The blocking request(msg, timeout) of rocketmq-client 5.3.1+ gives up
	// as soon as the request is stored (apache/rocketmq#9319): noted, not
	// asserted, so a client upgrade that fixes it does not break this test.
	// Its requester JVM is usually gone before the reply is pushed, so the
	// responder's reply may fail with "channel ... not found".
	sync := Request(t, c.NameServer(), topic, RequestOptions{Count: 1, Size: size, API: "sync"})
	if len(sync) == 1 && !sync[0].OK && strings.Contains(sync[0].Error, "wait reply message timeout") {
		t.Logf("Java request(msg, timeout) failed after %.0f ms of a 5000 ms timeout, as expected with 5.3.3 (apache/rocketmq#9319): %s", sync[0].RTTMs, sync[0].Error)
	} else {
		t.Logf("Java request(msg, timeout) no longer shows apache/rocketmq#9319: %+v", sync)
	}
	if ev, ok := resp.Next(30 * time.Second); ok {
		t.Logf("responder, request of the blocking API: replied %v, status %q, error %q", ev.Replied, ev.Status, ev.Error)
	} else {
		t.Errorf("responder never saw the request of the blocking API")
	}
}

// testProducerThroughput measures the Java producer as the benchmark peer:
// 10 000 x 1 KiB async. Only with JAVAPEER_BENCH=1 (it loads the machine).
func testProducerThroughput(t *testing.T, c *rmqtest.Cluster) {
	if os.Getenv("JAVAPEER_BENCH") != "1" {
		t.Skip("set JAVAPEER_BENCH=1 to measure the Java producer")
	}
	topic := uniqueTopic("jp_bench")
	c.CreateTopic(t, topic, 4)
	load := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		name string
		o    ProduceOptions
	}{
		{"10000 x 1 KiB async, 256 in flight", ProduceOptions{Count: 10_000, Size: 1024, Mode: "async", Inflight: 256, Warmup: 200}},
		{"10000 x 1 KiB sync, 4 threads", ProduceOptions{Count: 10_000, Size: 1024, Mode: "sync", Threads: 4, Warmup: 200}},
		{"3000 x 1 KiB sync, 1 thread", ProduceOptions{Count: 3_000, Size: 1024, Mode: "sync", Warmup: 200}},
	} {
		o := tc.o
		// A busy host makes the broker shed load (TIMEOUT_CLEAN_QUEUE): report
		// failures, do not fail on them.
		o.AllowFailures = true
		before := load()
		res := Produce(t, c.NameServer(), topic, o)
		if res.Failed > 0 {
			t.Logf("%d sends failed, first: %s", res.Failed, res.FirstError)
		}
		t.Logf("%s: %s, p90 %.2f ms, max %.2f ms, CPU/msg %.1f µs; JVM run %v; loadavg before %s, after %s",
			tc.name, res, res.P90Ms, res.MaxMs, float64(res.CPUNanos)/float64(res.Sent)/1e3,
			res.Wall.Round(time.Millisecond), before, load())
	}
}

// consumeDelay is CONSUME_START_TIME (set by the Java consumer just before
// calling the listener) minus the store timestamp, in ms, as text.
func consumeDelay(m Message) string {
	cst, err := strconv.ParseInt(m.Properties["CONSUME_START_TIME"], 10, 64)
	if err != nil {
		return "?"
	}
	return strconv.FormatInt(cst-m.StoreTimestamp, 10)
}
