package host

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
)

// rssBytes is the resident set size of the process (linux), 0 where unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * int64(os.Getpagesize())
}

// peakRSS runs f while sampling the resident set size, and returns the peak above what it was
// before (after a GC that returns freed memory to the system).
func peakRSS(f func()) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	base := rssBytes()
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rssBytes(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load() - base
}

const mib = 1 << 20

// hammer runs calls of point hook on p from n goroutines, rounds calls each.
func hammer(n, rounds int, call func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				call()
			}
		}()
	}
	wg.Wait()
}

// TestMemoryBounds measures what hostile guests cost in resident memory, and checks the grow bomb
// against the bound the docs give (memory_limit x pool_size, plus the host's own slack). The figures
// (docs/operations.md) come from
//
//	go test -count=1 -run TestMemoryBounds -v ./host/
func TestMemoryBounds(t *testing.T) {
	if os.Getpagesize() == 0 || rssBytes() == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI: no /proc/self/statm: resident memory cannot be measured")
		}
		t.Skip("no /proc/self/statm")
	}
	const pages, pool = 512, 4 // 32 MiB x 4
	limit := int64(pages) * 65536 * pool
	measure := func(mapped bool, name string, before bool) int64 {
		old := mappedMemory
		mappedMemory = mapped
		defer func() { mappedMemory = old }()
		p, _ := loadPath(t, watGuest(t, name, allPoints, ""), WithMemoryLimitPages(pages), WithPoolSize(pool))
		var call func()
		if before { // the guest traps after growing: its instance is replaced each time
			bh := p.Hooks().(send.SendMessageBeforeHook)
			call = func() { _ = bh.SendMessageBefore(newSC("orders", "")) }
		} else { // the guest keeps what it grew
			ah := p.Hooks().(send.SendMessageAfterHook)
			call = func() { ah.SendMessageAfter(newSC("orders", "")) }
		}
		peak := peakRSS(func() { hammer(pool, 8, call) })
		p.Close(t.Context())
		return peak
	}
	for _, tc := range []struct {
		name   string
		before bool
	}{{"grow bomb, instance kept", false}, {"grow bomb, instance replaced after each call", true}} {
		mapped := measure(true, "grow", tc.before)
		t.Logf("%s: peak RSS +%d MiB with mapped memory, bound %d MiB (%d pages x pool %d)", tc.name, mapped/mib, limit/mib, pages, pool)
		if mappedMemory {
			def := measure(false, "grow", tc.before)
			t.Logf("%s: peak RSS +%d MiB with wazero's own memory (%.1fx the bound)", tc.name, def/mib, float64(def)/float64(limit))
			if !raceEnabled && mapped > limit+64*mib {
				t.Errorf("%s: peak RSS +%d MiB, more than memory_limit x pool_size (%d MiB) + 64 MiB", tc.name, mapped/mib, limit/mib)
			}
		}
	}
	// Stack overflows: wazero grows a call's stack up to a fixed ceiling it does not let embedders
	// change; what one costs is measured here, one at a time and pool_size at once.
	p, _ := loadPath(t, watGuest(t, "stack", allPoints, ""), WithPoolSize(pool))
	ah := p.Hooks().(send.SendMessageAfterHook)
	call := func() { ah.SendMessageAfter(newSC("orders", "")) }
	one := peakRSS(func() { hammer(1, 4, call) })
	all := peakRSS(func() { hammer(pool, 4, call) })
	t.Logf("stack overflow: peak RSS +%d MiB for one at a time, +%d MiB for %d at once", one/mib, all/mib, pool)
	if st := p.Stats(); st.ByKind[FailTrap] == 0 || st.Calls != 4+4*pool {
		t.Errorf("stats = %+v", st)
	}
}
