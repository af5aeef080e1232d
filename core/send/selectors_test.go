package send

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/rocketsend/rocketsend/core/message"
)

func testQueues(n int) []message.MessageQueue {
	qs := make([]message.MessageQueue, n)
	for i := range qs {
		qs[i] = message.MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: i}
	}
	return qs
}

// twoBrokerQueues is a route as the producer orders it: by broker name, then queue id.
func twoBrokerQueues(perBroker int) []message.MessageQueue {
	var qs []message.MessageQueue
	for _, b := range []string{"broker-a", "broker-b"} {
		for i := 0; i < perBroker; i++ {
			qs = append(qs, message.MessageQueue{Topic: "T", BrokerName: b, QueueID: i})
		}
	}
	return qs
}

func mustSelect(t *testing.T, s QueueSelector, msg *message.Message, qs []message.MessageQueue, arg any) message.MessageQueue {
	t.Helper()
	q, err := s.Select(msg, qs, arg)
	if err != nil {
		t.Fatalf("Select(%v): %v", arg, err)
	}
	return q
}

// refJavaStringHash is String.hashCode spelled out over the UTF-16 encoding.
func refJavaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// longKey is 1000 characters (1250 UTF-16 code units) mixing ASCII, CJK and a supplementary
// character, long enough to wrap int32 many times.
var longKey = strings.Repeat("x订😀9", 250)

// javaGolden holds values computed by Java 17 itself (String.hashCode, Guava 32
// Hashing.sipHash24().hashBytes(UTF-8).asLong(), and the queue ids chosen by the real
// org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash and by
// LongMath.mod(sipHash, n), as the v5 clients do) for queue counts javaGoldenN.
var javaGoldenN = []int{1, 3, 4, 7, 8, 16}

var javaGolden = []struct {
	key      string
	hashCode int32
	sip      int64
	javaIdx  []int
	sipIdx   []int
}{
	{"", 0, 8246050544436514353, []int{0, 0, 0, 0, 0, 0}, []int{0, 0, 1, 5, 1, 1}},
	{"a", 97, 3144613055062689994, []int{0, 1, 1, 6, 1, 1}, []int{0, 1, 2, 0, 2, 10}},
	{"hello", 99162322, 22433990042967937, []int{0, 1, 2, 0, 2, 2}, []int{0, 1, 1, 0, 1, 1}},
	{"订单-42", -711980392, 6881993406780720631, []int{0, 1, 0, 4, 0, 8}, []int{0, 1, 3, 4, 7, 7}},
	{"😀x", 54959989, -1608679066627811545, []int{0, 1, 1, 0, 5, 5}, []int{0, 2, 3, 4, 7, 7}},
	{"polygenelubricants", math.MinInt32, -7656922757201233110, []int{0, 2, 0, 2, 0, 0}, []int{0, 0, 2, 0, 2, 10}},
	{"order-10086", 478770544, 5120704885510270783, []int{0, 1, 0, 0, 0, 0}, []int{0, 1, 3, 6, 7, 15}},
	{"group-A", 293427315, 6102824820519191434, []int{0, 0, 3, 6, 3, 3}, []int{0, 1, 2, 5, 2, 10}},
	{longKey, -290643584, 126405814646443346, []int{0, 2, 0, 0, 0, 0}, []int{0, 2, 2, 0, 2, 2}},
}

func TestJavaStringHashCode(t *testing.T) {
	// Values any Java programmer can check: "hello".hashCode() == 99162322; "Aa" and "BB" collide;
	// "polygenelubricants" hashes to Integer.MIN_VALUE.
	literal := map[string]int32{
		"":                   0,
		"a":                  97,
		"ab":                 97*31 + 98,
		"hello":              99162322,
		"Aa":                 2112,
		"BB":                 2112,
		"polygenelubricants": math.MinInt32,
		"😀":                  0xD83D*31 + 0xDE00,
		"😀x":                 (0xD83D*31+0xDE00)*31 + 'x',
		"\xff":               0xFFFD, // invalid UTF-8 reads as U+FFFD
	}
	for s, want := range literal {
		if got := JavaStringHashCode(s); got != want {
			t.Errorf("JavaStringHashCode(%q) = %d, want %d", s, got, want)
		}
	}
	for _, s := range []string{"", "a", "hello", "订单-42", "😀x", longKey, "a\xffb\xc3", "\U0010FFFF\uFFFF\uE000", strings.Repeat("z", 1000)} {
		if got, want := JavaStringHashCode(s), refJavaStringHash(s); got != want {
			t.Errorf("JavaStringHashCode(%.20q) = %d, reference over utf16.Encode = %d", s, got, want)
		}
	}
	if n := len([]rune(longKey)); n != 1000 {
		t.Fatalf("longKey has %d characters", n)
	}
	for _, g := range javaGolden {
		if got := JavaStringHashCode(g.key); got != g.hashCode {
			t.Errorf("JavaStringHashCode(%.20q) = %d, Java says %d", g.key, got, g.hashCode)
		}
	}
}

func TestJavaHashCodeTypes(t *testing.T) {
	type tc struct {
		v    any
		want int32
	}
	// Expected values printed by Java 17 for the boxed equivalents.
	for _, c := range []tc{
		{int32(-5), -5},
		{int64(0x100000005), 4},
		{int64(-1), 0},
		{int64(1 << 40), 256},
		{int64(math.MinInt64), math.MinInt32},
		{int(1 << 40), 256}, // does not fit an int: hashed as a Long
		{int(-7), -7},       // fits: hashed as an Integer (a Long -7 would hash to 6)
		{int(math.MinInt32), math.MinInt32},
		{int16(-3), -3},
		{int8(-128), -128},
		{uint16(0xFFFF), 65535},
		{true, 1231},
		{false, 1237},
		{1.0, 1072693248},
		{float32(1.0), 1065353216},
		{math.NaN(), 2146959360},
		{javaHashed(42), 42},
	} {
		got, err := JavaHashCode(c.v)
		if err != nil || got != c.want {
			t.Errorf("JavaHashCode(%T %v) = %d, %v; want %d", c.v, c.v, got, err, c.want)
		}
	}
	for _, v := range []any{[]byte("x"), struct{}{}, uint64(1), uint32(1), uint(1), uint8(1), &struct{}{}} {
		if _, err := JavaHashCode(v); err == nil {
			t.Errorf("JavaHashCode(%T) accepted a type without a fixed Java hashCode", v)
		}
	}
}

type javaHashed int32

func (j javaHashed) JavaHashCode() int32 { return int32(j) }

func TestHashJavaMatchesJava(t *testing.T) {
	s := HashJava()
	for _, g := range javaGolden {
		for i, n := range javaGoldenN {
			q := mustSelect(t, s, nil, testQueues(n), g.key)
			if q.QueueID != g.javaIdx[i] {
				t.Errorf("HashJava(%.20q) over %d queues = %d, Java's SelectMessageQueueByHash = %d", g.key, n, q.QueueID, g.javaIdx[i])
			}
			// The formula, spelled out independently.
			want := int(g.hashCode) % n
			if want < 0 {
				want = -want
			}
			if q.QueueID != want {
				t.Errorf("HashJava(%.20q) over %d queues = %d, want |%d %% %d| = %d", g.key, n, q.QueueID, g.hashCode, n, want)
			}
		}
	}
	// Non-string args, queue ids from Java's selector over 1, 3, 4, 7, 8, 16 queues.
	for _, c := range []struct {
		arg  any
		want []int
	}{
		{int32(-5), []int{0, 2, 1, 5, 5, 5}},
		{int64(0x100000005), []int{0, 1, 0, 4, 4, 4}},
		{true, []int{0, 1, 3, 6, 7, 15}},
		{false, []int{0, 1, 1, 5, 5, 5}},
		{int64(math.MinInt64), []int{0, 2, 0, 2, 0, 0}},
		{int8(-128), []int{0, 2, 0, 2, 0, 0}},
	} {
		for i, n := range javaGoldenN {
			if q := mustSelect(t, s, nil, testQueues(n), c.arg); q.QueueID != c.want[i] {
				t.Errorf("HashJava(%T %v) over %d queues = %d, Java = %d", c.arg, c.arg, n, q.QueueID, c.want[i])
			}
		}
	}
	// Over a two-broker route the index runs across brokers, as Java's list does.
	qs := twoBrokerQueues(4)
	if q := mustSelect(t, s, nil, qs, "hello"); q != qs[99162322%8] {
		t.Errorf("two brokers: got %v, want %v", q, qs[99162322%8])
	}
	if !isConsistent(s) {
		t.Error("HashJava is not Consistent")
	}
}

func TestHashSelectorErrors(t *testing.T) {
	msg := message.New("T", []byte("b"))
	for name, s := range map[string]QueueSelector{"HashJava": HashJava(), "HashFNV": HashFNV(), "HashSipHash": HashSipHash()} {
		_, err := s.Select(msg, nil, "k")
		if !errors.Is(err, ErrEmptyQueues) {
			t.Errorf("%s with no queue: %v, want ErrEmptyQueues", name, err)
		}
		_, err = s.Select(msg, testQueues(4), nil)
		if !errors.Is(err, ErrNoShardingKey) || !strings.Contains(err.Error(), "pass") {
			t.Errorf("%s with nil arg and no key property: %v, want ErrNoShardingKey asking for a key", name, err)
		}
		_, err = s.Select(nil, testQueues(4), nil)
		if !errors.Is(err, ErrNoShardingKey) {
			t.Errorf("%s with nil message and arg: %v, want ErrNoShardingKey", name, err)
		}
		if _, err = s.Select(msg, testQueues(4), struct{ X int }{1}); err == nil || !strings.Contains(err.Error(), "struct") {
			t.Errorf("%s with a struct key: %v, want an error naming the type", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	for name, s := range map[string]QueueSelector{"RoundRobin": RoundRobin(), "Random": Random()} {
		if _, err := s.Select(msg, []message.MessageQueue{}, nil); !errors.Is(err, ErrEmptyQueues) {
			t.Errorf("%s with no queue: %v, want ErrEmptyQueues", name, err)
		}
	}
}

func TestHashFNVMatchesClientGo(t *testing.T) {
	s := HashFNV()
	keys := []string{"", "a", "hello", "订单-42", "😀x", "order-10086", longKey}
	for _, k := range keys {
		for _, n := range []int{1, 2, 3, 4, 7, 8, 16, 100} {
			// rocketmq-client-go v2 producer/selector.go, hashQueueSelector.Select:
			hasher := fnv.New32a()
			hasher.Write([]byte(k))
			want := int(hasher.Sum32()) % n
			if want < 0 {
				want = -want
			}
			qs := testQueues(n)
			if q := mustSelect(t, s, nil, qs, k); q.QueueID != want {
				t.Errorf("HashFNV(%.20q) over %d queues = %d, client-go = %d", k, n, q.QueueID, want)
			}
			if q := mustSelect(t, s, nil, qs, []byte(k)); q.QueueID != want {
				t.Errorf("HashFNV([]byte %.20q) over %d queues = %d, client-go = %d", k, n, q.QueueID, want)
			}
			if k == "" {
				continue // an empty property is no key
			}
			msg := message.New("T", nil)
			msg.SetSystemProperty(PropertyClientGoShardingKey, k)
			if q := mustSelect(t, s, msg, qs, nil); q.QueueID != want {
				t.Errorf("HashFNV(property %.20q) over %d queues = %d, client-go = %d", k, n, q.QueueID, want)
			}
		}
	}
	// Published FNV-1a 32 values.
	if h := fnv1a32(""); h != 0x811c9dc5 {
		t.Errorf("fnv1a32(\"\") = %#x", h)
	}
	if h := fnv1a32("hello"); h != 0x4f9f2cab {
		t.Errorf("fnv1a32(hello) = %#x", h)
	}
	// "hello" = 0x4f9f2cab = 1335831723; 1335831723 % 8 = 3.
	if q := mustSelect(t, s, nil, testQueues(8), "hello"); q.QueueID != 3 {
		t.Errorf("HashFNV(hello) over 8 queues = %d, want 3", q.QueueID)
	}
	// The arg wins over the property.
	msg := message.New("T", nil)
	msg.SetSystemProperty(PropertyClientGoShardingKey, "a")
	if q := mustSelect(t, s, msg, testQueues(8), "hello"); q.QueueID != 3 {
		t.Errorf("HashFNV with arg and property = %d, want the arg's 3", q.QueueID)
	}
	if !isConsistent(s) {
		t.Error("HashFNV is not Consistent")
	}
}

// sipVectors are the 64 SipHash-2-4 outputs of the reference implementation (vectors.h of
// github.com/veorq/SipHash, the paper's Appendix A key 00..0f), for the messages 00, 00 01, ...,
// written as the big-endian reading of the 8 output bytes.
var sipVectors = [64]uint64{
	0x310e0edd47db6f72, 0xfd67dc93c539f874, 0x5a4fa9d909806c0d, 0x2d7efbd796666785,
	0xb7877127e09427cf, 0x8da699cd64557618, 0xcee3fe586e46c9cb, 0x37d1018bf50002ab,
	0x6224939a79f5f593, 0xb0e4a90bdf82009e, 0xf3b9dd94c5bb5d7a, 0xa7ad6b22462fb3f4,
	0xfbe50e86bc8f1e75, 0x903d84c02756ea14, 0xeef27a8e90ca23f7, 0xe545be4961ca29a1,
	0xdb9bc2577fcc2a3f, 0x9447be2cf5e99a69, 0x9cd38d96f0b3c14b, 0xbd6179a71dc96dbb,
	0x98eea21af25cd6be, 0xc7673b2eb0cbf2d0, 0x883ea3e395675393, 0xc8ce5ccd8c030ca8,
	0x94af49f6c650adb8, 0xeab8858ade92e1bc, 0xf315bb5bb835d817, 0xadcf6b0763612e2f,
	0xa5c91da7acaa4dde, 0x716595876650a2a6, 0x28ef495c53a387ad, 0x42c341d8fa92d832,
	0xce7cf2722f512771, 0xe37859f94623f3a7, 0x381205bb1ab0e012, 0xae97a10fd434e015,
	0xb4a31508beff4d31, 0x81396229f0907902, 0x4d0cf49ee5d4dcca, 0x5c73336a76d8bf9a,
	0xd0a704536ba93e0e, 0x925958fcd6420cad, 0xa915c29bc8067318, 0x952b79f3bc0aa6d4,
	0xf21df2e41d4535f9, 0x87577519048f53a9, 0x10a56cf5dfcd9adb, 0xeb75095ccd986cd0,
	0x51a9cb9ecba312e6, 0x96afadfc2ce666c7, 0x72fe52975a4364ee, 0x5a1645b276d592a1,
	0xb274cb8ebf87870a, 0x6f9bb4203de7b381, 0xeaecb2a30b22a87f, 0x9924a43cc1315724,
	0xbd838d3aafbf8db7, 0x0b1a2a3265d51aea, 0x135079a3231ce660, 0x932b2846e4d70666,
	0xe1915f5cb1eca46c, 0xf325965ca16d629f, 0x575ff28e60381be5, 0x724506eb4c328a95,
}

func TestSipHash24Vectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	if k0 != sipK0 || k1 != sipK1 {
		t.Fatalf("Guava's default key is the paper's key 00..0f: got %#x %#x", k0, k1)
	}
	in := make([]byte, 64)
	for i := range in {
		in[i] = byte(i)
	}
	for n := 0; n < 64; n++ {
		var out [8]byte
		binary.LittleEndian.PutUint64(out[:], sipHash24(k0, k1, in[:n]))
		if got := binary.BigEndian.Uint64(out[:]); got != sipVectors[n] {
			t.Errorf("SipHash-2-4 of %d bytes: %#016x, reference %#016x", n, got, sipVectors[n])
		}
		if sipHash24(k0, k1, string(in[:n])) != sipHash24(k0, k1, in[:n]) {
			t.Errorf("string and []byte SipHash differ at %d bytes", n)
		}
	}
	// The paper's worked example (Appendix A): 15 bytes 00..0e -> a129ca6149be45e5.
	if h := sipHash24(k0, k1, in[:15]); h != 0xa129ca6149be45e5 {
		t.Errorf("paper vector: %#x", h)
	}
}

func TestHashSipHashMatchesV5Clients(t *testing.T) {
	s := HashSipHash()
	for _, g := range javaGolden {
		if h := int64(sipHash24(sipK0, sipK1, g.key)); h != g.sip {
			t.Errorf("sipHash(%.20q) = %d, Guava sipHash24().asLong() = %d", g.key, h, g.sip)
		}
		for i, n := range javaGoldenN {
			q := mustSelect(t, s, nil, testQueues(n), g.key)
			if q.QueueID != g.sipIdx[i] {
				t.Errorf("HashSipHash(%.20q) over %d queues = %d, Guava LongMath.mod = %d", g.key, n, q.QueueID, g.sipIdx[i])
			}
			// Independently: the Euclidean remainder of the signed hash, via math/big.
			want := new(big.Int).Mod(big.NewInt(g.sip), big.NewInt(int64(n))).Int64()
			if int64(q.QueueID) != want {
				t.Errorf("HashSipHash(%.20q) over %d queues = %d, big.Int mod = %d", g.key, n, q.QueueID, want)
			}
		}
		if g.key == "" {
			continue
		}
		// With no arg the message group is read from __SHARDINGKEY, where the 5.x proxy puts it.
		msg := message.New("T", nil)
		msg.SetSystemProperty(message.PropertyShardingKey, g.key)
		if q := mustSelect(t, s, msg, testQueues(16), nil); q.QueueID != g.sipIdx[5] {
			t.Errorf("HashSipHash(property %.20q) = %d, want %d", g.key, q.QueueID, g.sipIdx[5])
		}
		if q := mustSelect(t, s, nil, testQueues(16), []byte(g.key)); q.QueueID != g.sipIdx[5] {
			t.Errorf("HashSipHash([]byte %.20q) = %d, want %d", g.key, q.QueueID, g.sipIdx[5])
		}
	}
	if !isConsistent(s) {
		t.Error("HashSipHash is not Consistent")
	}
}

func TestHashDistribution(t *testing.T) {
	const keys, n = 40000, 8
	for name, s := range map[string]QueueSelector{"HashJava": HashJava(), "HashFNV": HashFNV(), "HashSipHash": HashSipHash()} {
		qs := twoBrokerQueues(n / 2)
		counts := make(map[message.MessageQueue]int)
		for i := 0; i < keys; i++ {
			counts[mustSelect(t, s, nil, qs, fmt.Sprintf("order-%d", i))]++
		}
		for _, q := range qs {
			if c := counts[q]; c < keys/n*8/10 || c > keys/n*12/10 {
				t.Errorf("%s: %v got %d of %d keys, want %d±20%%", name, q, c, keys, keys/n)
			}
		}
		// The same key always lands on the same queue.
		a := mustSelect(t, s, nil, qs, "stable")
		for i := 0; i < 100; i++ {
			if b := mustSelect(t, s, nil, qs, "stable"); b != a {
				t.Fatalf("%s moved a key: %v then %v", name, a, b)
			}
		}
	}
}

func TestRoundRobinOrderAndFactory(t *testing.T) {
	qs := twoBrokerQueues(2)
	s := RoundRobin()
	for i := 0; i < 10; i++ {
		if q := mustSelect(t, s, nil, qs, nil); q != qs[i%len(qs)] {
			t.Fatalf("pick %d = %v, want %v", i, q, qs[i%len(qs)])
		}
	}
	if isConsistent(s) {
		t.Error("RoundRobin claims to be Consistent")
	}
	f := RoundRobinFactory()
	a, b := f.SelectorFor("A"), f.SelectorFor("B")
	mustSelect(t, a, nil, qs, nil)
	mustSelect(t, a, nil, qs, nil)
	if q := mustSelect(t, b, nil, qs, nil); q != qs[0] {
		t.Errorf("topic B's first pick = %v, want %v: topics share a counter", q, qs[0])
	}
	if q := mustSelect(t, a, nil, qs, nil); q != qs[2] {
		t.Errorf("topic A's third pick = %v, want %v", q, qs[2])
	}
}

func TestRoundRobinFairUnderConcurrency(t *testing.T) {
	const workers, each, n = 16, 3000, 6
	qs := testQueues(n)
	s := RoundRobin()
	var mu sync.Mutex
	counts := make([]int, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]int, n)
			for i := 0; i < each; i++ {
				q, err := s.Select(nil, qs, nil)
				if err != nil {
					t.Error(err)
					return
				}
				local[q.QueueID]++
			}
			mu.Lock()
			for i, c := range local {
				counts[i] += c
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, c := range counts {
		if c != workers*each/n {
			t.Errorf("queue %d got %d picks, want exactly %d", i, c, workers*each/n)
		}
	}
}

func TestRandomInRange(t *testing.T) {
	s := Random()
	for _, n := range []int{1, 2, 5, 16} {
		qs := testQueues(n)
		seen := make([]int, n)
		for i := 0; i < 2000*n; i++ {
			q := mustSelect(t, s, nil, qs, nil)
			if q.QueueID < 0 || q.QueueID >= n || q != qs[q.QueueID] {
				t.Fatalf("Random picked %v out of %d queues", q, n)
			}
			seen[q.QueueID]++
		}
		for i, c := range seen {
			if c < 2000*7/10 || c > 2000*13/10 {
				t.Errorf("Random over %d queues: queue %d picked %d times of %d", n, i, c, 2000*n)
			}
		}
	}
	if isConsistent(s) {
		t.Error("Random claims to be Consistent")
	}
}

func BenchmarkSelectors(b *testing.B) {
	qs := twoBrokerQueues(8)
	for name, s := range map[string]QueueSelector{"RoundRobin": RoundRobin(), "Random": Random(), "HashJava": HashJava(), "HashFNV": HashFNV(), "HashSipHash": HashSipHash()} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.Select(nil, qs, "order-1234567890"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A topic's round-robin position is one for the whole producer, shared by every goroutine, where
// Java keeps one per thread (ThreadLocalIndex, each thread starting at a random queue): sends from
// eight goroutines in turn get eight consecutive queues of the route (docs/producer.md, "Where
// rocketsend differs from Java, on purpose").
func TestRoundRobinPositionSharedByGoroutines(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	p := startFake(t, fc)
	var route []message.MessageQueue // the route's order: by broker name, then queue id
	for _, b := range []string{"broker-a", "broker-b"} {
		for i := range fc.queues {
			route = append(route, message.MessageQueue{Topic: "FakeTopic", BrokerName: b, QueueID: i})
		}
	}
	var got []message.MessageQueue
	for range len(route) {
		done := make(chan struct{})
		go func() { // a goroutine of its own for every send
			defer close(done)
			res, err := p.Send(context.Background(), msg("turn"))
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, res.Queue)
		}()
		<-done
	}
	if len(got) != len(route) {
		t.Fatalf("%d of %d sends went through", len(got), len(route))
	}
	start := slices.Index(route, got[0])
	for i, q := range got {
		if want := route[(start+i)%len(route)]; start < 0 || q != want {
			t.Fatalf("send %d went to %v, want %v: the goroutines do not share one position (all: %v)", i, q, want, got)
		}
	}
}
