package codec

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOffsetMsgIDGolden(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:10911")
	if got := EncodeOffsetMsgID(ap, 0); got != "7F00000100002A9F0000000000000000" {
		t.Errorf("EncodeOffsetMsgID = %q", got)
	}
	host, off, err := DecodeOffsetMsgID("7f00000100002a9f0000000000000000") // lower case accepted
	if err != nil || host != ap || off != 0 {
		t.Errorf("DecodeOffsetMsgID = %v %d %v", host, off, err)
	}
	// IPv4-mapped IPv6 is IPv4 on the wire, as in Java.
	if got := EncodeOffsetMsgID(netip.MustParseAddrPort("[::ffff:127.0.0.1]:10911"), 0); got != "7F00000100002A9F0000000000000000" {
		t.Errorf("mapped: %q", got)
	}
	v6 := netip.MustParseAddrPort("[2001:db8::1]:10911")
	id := EncodeOffsetMsgID(v6, 0x0102030405060708)
	if id != "20010DB800000000000000000000000100002A9F0102030405060708" {
		t.Errorf("IPv6 id %q", id)
	}
	if host, off, err := DecodeOffsetMsgID(id); err != nil || host != v6 || off != 0x0102030405060708 {
		t.Errorf("IPv6 decode %v %d %v", host, off, err)
	}
	if got := EncodeOffsetMsgID(netip.AddrPort{}, -1); got != "0000000000000000FFFFFFFFFFFFFFFF" {
		t.Errorf("invalid host: %q", got)
	}
	if got := string(AppendOffsetMsgID([]byte("x,"), ap, 1)); got != "x,7F00000100002A9F0000000000000001" {
		t.Errorf("append: %q", got)
	}
}

func TestDecodeOffsetMsgIDErrors(t *testing.T) {
	for id, text := range map[string]string{
		"":                                  `codec: malformed message id: offset message id "" has 0 characters, want 32 (IPv4) or 56 (IPv6)`,
		"7F00000100002A9F000000000000000":   "has 31 characters",
		"7F00000100002A9F000000000000000G":  "is not hexadecimal",
		"7F000001FFFFFFFF0000000000000000":  "port -1 out of range 0..65535",
		"7F0000010001000000000000000000000": "has 33 characters",
		strings.Repeat("A", 200):            "has 200 characters",
	} {
		_, _, err := DecodeOffsetMsgID(id)
		if !errors.Is(err, ErrBadMessageID) || !strings.Contains(err.Error(), text) {
			t.Errorf("DecodeOffsetMsgID(%q) = %v, want %q", id, err, text)
		}
	}
}

func TestSplitMsgIDs(t *testing.T) {
	for in, want := range map[string][]string{
		"":      nil,
		"A":     {"A"},
		"A,B,C": {"A", "B", "C"},
		"A, B,": {"A", "B"},
		",,":    {},
	} {
		got := SplitMsgIDs(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || (want == nil) != (got == nil) {
			t.Errorf("SplitMsgIDs(%q) = %q, want %q", in, got, want)
		}
	}
}

func cdxIsUpperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(hexUpperDigits, rune(s[i])) {
			return false
		}
	}
	return true
}

func TestUniqIDLayout(t *testing.T) {
	at := time.Date(2025, time.March, 5, 10, 30, 0, 0, time.UTC)
	g := newUniqIDGenerator(net.IPv4(10, 0, 0, 1), 0x12345, 0xCAFEBABE, time.UTC, func() time.Time { return at })
	if g.Prefix() != "0A0000012345CAFEBABE" {
		t.Fatalf("prefix %q", g.Prefix())
	}
	// 4 days 10.5 hours into March = 383400000 ms = 0x16DA3840.
	id1, id2 := g.Next(), g.Next()
	if id1 != "0A0000012345CAFEBABE16DA38400000" || id2 != "0A0000012345CAFEBABE16DA38400001" {
		t.Errorf("ids %q %q", id1, id2)
	}
	info, err := ParseUniqID(strings.ToLower(id2))
	if err != nil {
		t.Fatal(err)
	}
	if info.IP != netip.MustParseAddr("10.0.0.1") || info.PID != 0x2345 || info.Random != 0xCAFEBABE ||
		info.MonthMillis != 383400000 || info.Counter != 1 {
		t.Errorf("parsed %+v", info)
	}

	v6 := newUniqIDGenerator(net.ParseIP("2001:db8::1"), 1, 2, time.UTC, func() time.Time { return at })
	id := v6.Next()
	if len(id) != 56 || !strings.HasPrefix(id, "20010DB8000000000000000000000001"+"0001"+"00000002") {
		t.Errorf("IPv6 id %q", id)
	}
	if info, err := ParseUniqID(id); err != nil || info.IP != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("IPv6 parse %+v %v", info, err)
	}
	if g := newUniqIDGenerator(nil, 1, 2, time.UTC, nil); !strings.HasPrefix(g.Prefix(), "7F000001") {
		t.Errorf("nil ip prefix %q", g.Prefix())
	}
	if _, err := ParseUniqID("XYZ"); !errors.Is(err, ErrBadMessageID) {
		t.Errorf("bad id: %v", err)
	}
}

func TestUniqIDCounterWraps(t *testing.T) {
	g := newUniqIDGenerator(net.IPv4(1, 2, 3, 4), 1, 1, time.UTC, nil)
	g.counter.Store(0xFFFF)
	a, b := g.Next(), g.Next()
	if a[28:] != "FFFF" || b[28:] != "0000" {
		t.Errorf("counter around wrap: %q %q", a[28:], b[28:])
	}
}

func TestUniqIDMonthRollover(t *testing.T) {
	loc := time.FixedZone("UTC+8", 8*3600)
	now := time.Date(2025, time.January, 31, 23, 59, 59, 999e6, loc)
	g := newUniqIDGenerator(net.IPv4(1, 2, 3, 4), 1, 1, loc, func() time.Time { return now })
	before, _ := ParseUniqID(g.Next())
	// 30 days 23:59:59.999 = 2678399999 ms, above MaxInt32: Java's (int) cast wraps it.
	if want := uint32(2678399999); before.MonthMillis != want { // the int bits, read back unsigned
		t.Errorf("end of January: %d, want %d", before.MonthMillis, want)
	}
	now = time.Date(2025, time.February, 1, 0, 0, 0, 5e6, loc)
	after, _ := ParseUniqID(g.Next())
	if after.MonthMillis != 5 {
		t.Errorf("after rollover: %d ms, want 5 (month start recomputed)", after.MonthMillis)
	}
	// Clock stepped back a little before the month start: clamped to 0.
	now = time.Date(2025, time.January, 31, 23, 59, 59, 500e6, loc)
	g2 := newUniqIDGenerator(net.IPv4(1, 2, 3, 4), 1, 1, loc, func() time.Time { return now })
	g2.window.Store(&uniqMonthWindow{start: now.UnixMilli() + 500, next: now.UnixMilli() + 1e9})
	if back, _ := ParseUniqID(g2.Next()); back.MonthMillis != 0 {
		t.Errorf("NTP step back: %d, want 0", back.MonthMillis)
	}
}

func TestUniqNearlyTime(t *testing.T) {
	now := time.Date(2025, time.March, 10, 12, 0, 0, 0, time.Local)
	// 2 days into the current month: this month.
	if got := uniqNearlyTime(2*86400e3, now); !got.Equal(time.Date(2025, time.March, 3, 0, 0, 0, 0, time.Local)) {
		t.Errorf("this month: %v", got)
	}
	// 20 days in would be in the future: previous month.
	if got := uniqNearlyTime(20*86400e3, now); !got.Equal(time.Date(2025, time.February, 21, 0, 0, 0, 0, time.Local)) {
		t.Errorf("previous month: %v", got)
	}
	// A real id made now parses back to about now.
	info, err := ParseUniqID(NextUniqID())
	if err != nil || time.Since(info.Time).Abs() > time.Minute {
		t.Errorf("NextUniqID time %v, %v", info.Time, err)
	}
}

func TestUniqIDDefaultAndConcurrency(t *testing.T) {
	g := DefaultUniqIDGenerator()
	if g != DefaultUniqIDGenerator() {
		t.Fatal("default generator is not a singleton")
	}
	first := g.Next()
	if len(first) != 32 || !cdxIsUpperHex(first) || !strings.HasPrefix(first, g.Prefix()) {
		t.Fatalf("id %q", first)
	}
	const workers, each = 8, 1000 // 8000 < 65536: the counter cannot wrap within one millisecond
	var mu sync.Mutex
	seen := make(map[string]struct{}, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]string, 0, each)
			buf := make([]byte, 0, 32)
			for i := range each {
				if i%2 == 0 {
					local = append(local, g.Next())
				} else {
					local = append(local, string(g.AppendNext(buf[:0])))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range local {
				if len(id) != 32 || !cdxIsUpperHex(id) || id[:20] != first[:20] {
					t.Errorf("bad id %q", id)
				}
				seen[id] = struct{}{}
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Errorf("%d unique ids of %d", len(seen), workers*each)
	}
}

func TestUniqIDAllocs(t *testing.T) {
	g := NewUniqIDGenerator(net.IPv4(10, 1, 2, 3), 99)
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = g.AppendNext(buf[:0]) }); n != 0 {
		t.Errorf("AppendNext allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { cdxSink = g.Next() }); n != 1 {
		t.Errorf("Next allocates %v times, want 1", n)
	}
}

// cdxSink keeps results alive so the compiler cannot keep them on the stack.
var cdxSink string

func BenchmarkUniqIDNext(b *testing.B) {
	g := NewUniqIDGenerator(net.IPv4(10, 1, 2, 3), 99)
	b.ReportAllocs()
	for b.Loop() {
		cdxSink = g.Next()
	}
}

func BenchmarkUniqIDAppendNext(b *testing.B) {
	g := NewUniqIDGenerator(net.IPv4(10, 1, 2, 3), 99)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = g.AppendNext(buf[:0])
	}
}

func BenchmarkUniqIDNextParallel(b *testing.B) {
	g := NewUniqIDGenerator(net.IPv4(10, 1, 2, 3), 99)
	b.ReportAllocs()
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		var last string
		for pb.Next() {
			last = g.Next()
		}
		mu.Lock()
		cdxSink = last
		mu.Unlock()
	})
}

func BenchmarkEncodeOffsetMsgID(b *testing.B) {
	ap := netip.MustParseAddrPort("10.0.0.1:10911")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cdxSink = EncodeOffsetMsgID(ap, int64(i))
	}
}
