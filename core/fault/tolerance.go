// Package fault is rocketsend's latency fault tolerance, the Go counterpart of the Java client's
// MQFaultStrategy and LatencyFaultToleranceImpl (rocketmq 5.3.x, package
// org.apache.rocketmq.client.latency).
//
// A producer reports the latency and outcome of every send attempt per broker name; a broker that
// answered slowly or failed is isolated for a while, and queue selection steers sends away from it
// until the isolation ends. Like Java, the whole mechanism is off by default: a Strategy that is not
// enabled records nothing and selects queues by plain round robin that avoids the broker of the
// previous attempt.
//
// The package depends only on core/message and the standard library, so it works on plain queue
// lists and knows nothing of routes or transports. Time comes from an injectable clock, so tests
// move time instead of sleeping.
package fault

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// DefaultDetectInterval is how often DetectOnce probes one isolated broker at most, Java's
// ClientConfig.detectInterval (2000 ms).
const DefaultDetectInterval = 2 * time.Second

// LatencyFaultTolerance remembers, per broker name, the latest send latency, until when the broker
// is isolated, and whether it is reachable at all. A broker never reported is available and
// reachable. It is safe for concurrent use; the zero value is ready and uses the wall clock.
type LatencyFaultTolerance struct {
	// now is the clock; nil means time.Now. Set once, before concurrent use.
	now func() time.Time
	// detectInterval spaces DetectOnce probes of one broker; 0 means DefaultDetectInterval.
	detectInterval time.Duration

	mu    sync.RWMutex
	items map[string]*faultItem
}

// faultItem is one broker's record. Fields are guarded by LatencyFaultTolerance.mu.
type faultItem struct {
	name           string
	currentLatency time.Duration
	// availableAt is Java's startTimestamp: the broker is isolated until then.
	availableAt time.Time
	// checkAt is when DetectOnce may probe the broker next (Java's checkStamp).
	checkAt   time.Time
	reachable bool
}

// FaultItem is a snapshot of one broker's record, for logs, metrics and load-aware selectors.
type FaultItem struct {
	BrokerName string
	// CurrentLatency is the latency of the latest reported attempt.
	CurrentLatency time.Duration
	// AvailableAt is when the broker's isolation ends; the zero time or a past time means it is
	// available now.
	AvailableAt time.Time
	// Available reports whether the isolation had ended when the snapshot was taken.
	Available bool
	// Reachable is false after an error that made the broker unusable, until a later success or a
	// successful probe (DetectOnce).
	Reachable bool
}

// NewLatencyFaultTolerance returns an empty table using clock now (nil for time.Now).
func NewLatencyFaultTolerance(now func() time.Time) *LatencyFaultTolerance {
	return &LatencyFaultTolerance{now: now}
}

func (l *LatencyFaultTolerance) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// UpdateFaultItem records an attempt on broker name: its latency, how long the broker must now stay
// isolated, and whether it was reachable. Isolation is only ever extended, never shortened: a fast
// success right after a failure records the latency and reachability but leaves the broker isolated
// until the earlier deadline, as Java's FaultItem.updateNotAvailableDuration does, so one lucky
// answer does not bring a flapping broker back early.
func (l *LatencyFaultTolerance) UpdateFaultItem(name string, currentLatency, notAvailableDuration time.Duration, reachable bool) {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.items == nil {
		l.items = make(map[string]*faultItem)
	}
	it := l.items[name]
	if it == nil {
		it = &faultItem{name: name}
		l.items[name] = it
	}
	it.currentLatency = currentLatency
	if until := now.Add(notAvailableDuration); notAvailableDuration > 0 && until.After(it.availableAt) {
		it.availableAt = until
	}
	it.reachable = reachable
}

// IsAvailable reports whether broker name is not isolated now.
func (l *LatencyFaultTolerance) IsAvailable(name string) bool {
	now := l.clock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	it := l.items[name]
	return it == nil || !now.Before(it.availableAt)
}

// IsReachable reports whether broker name has not been marked unreachable.
func (l *LatencyFaultTolerance) IsReachable(name string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	it := l.items[name]
	return it == nil || it.reachable
}

// Remove forgets broker name, making it available and reachable again; used when a broker leaves
// the routes altogether.
func (l *LatencyFaultTolerance) Remove(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.items, name)
}

// PickOneAtLeast returns the name of a random reachable broker among those ever reported, or "" when
// none is: the broker to try when every one is isolated. This is the 5.x behaviour
// (LatencyFaultToleranceImpl.pickOneAtLeast shuffles the items and returns the first reachable one).
// 4.x instead sorted the items (available first, then lower latency, then earlier end of isolation)
// and took the better half round robin; reachability did not exist then.
func (l *LatencyFaultTolerance) PickOneAtLeast() string {
	l.mu.RLock()
	names := make([]string, 0, len(l.items))
	for _, it := range l.items {
		if it.reachable {
			names = append(names, it.name)
		}
	}
	l.mu.RUnlock()
	if len(names) == 0 {
		return ""
	}
	return names[rand.IntN(len(names))]
}

// Items returns a snapshot of every broker's record, in Java's FaultItem order: available brokers
// first, then by lower latency, then by earlier end of isolation (then by name, so the order is
// total).
func (l *LatencyFaultTolerance) Items() []FaultItem {
	now := l.clock()
	l.mu.RLock()
	out := make([]FaultItem, 0, len(l.items))
	for _, it := range l.items {
		out = append(out, FaultItem{
			BrokerName:     it.name,
			CurrentLatency: it.currentLatency,
			AvailableAt:    it.availableAt,
			Available:      !now.Before(it.availableAt),
			Reachable:      it.reachable,
		})
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b FaultItem) int {
		if a.Available != b.Available {
			if a.Available {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(a.CurrentLatency, b.CurrentLatency),
			a.AvailableAt.Compare(b.AvailableAt),
			cmp.Compare(a.BrokerName, b.BrokerName),
		)
	})
	return out
}

// DetectOnce is one round of Java's service detector (LatencyFaultToleranceImpl.detectByOneRound):
// every recorded broker whose probe is due (at most once per detect interval) is resolved to an
// address; a broker that no longer resolves ("") is forgotten, and an unreachable broker whose probe
// succeeds becomes reachable again. probe may be nil to only drop brokers that left the routes.
// The caller decides when to run rounds (Java: every 3 s when startDetectorEnable is set); probes
// run one after another on the caller's goroutine, without holding the table's lock.
func (l *LatencyFaultTolerance) DetectOnce(ctx context.Context, resolve func(brokerName string) string,
	probe func(ctx context.Context, addr string) bool) {
	now := l.clock()
	interval := l.detectInterval
	if interval <= 0 {
		interval = DefaultDetectInterval
	}
	var due []string
	l.mu.Lock()
	for name, it := range l.items {
		if !now.Before(it.checkAt) {
			it.checkAt = now.Add(interval)
			due = append(due, name)
		}
	}
	l.mu.Unlock()
	slices.Sort(due) // a deterministic probe order makes logs and tests reproducible

	for _, name := range due {
		if ctx.Err() != nil {
			return
		}
		addr := resolve(name)
		if addr == "" {
			l.Remove(name)
			continue
		}
		if probe == nil || l.IsReachable(name) || !probe(ctx, addr) {
			continue
		}
		l.mu.Lock()
		if it := l.items[name]; it != nil {
			it.reachable = true
		}
		l.mu.Unlock()
	}
}
