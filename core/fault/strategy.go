package fault

import (
	"fmt"
	"sync/atomic"
	"time"
)

// IsolationLatency is the latency an attempt counts as when the caller asks for isolation (a
// connection failure or a broker error): Java's MQFaultStrategy.updateFaultItem passes 10000 ms to
// computeNotAvailableDuration when isolation is true, which the 5.x table maps to 10 s. (4.x passed
// 30000 ms, which its table mapped to 600 s.)
const IsolationLatency = 10 * time.Second

// The 5.x tables (rocketmq 5.3.x MQFaultStrategy.latencyMax / notAvailableDuration): an attempt that
// took at least latencyMax[i] isolates its broker for notAvailableDuration[i].
//
// 4.x (e.g. 4.9.8) used much longer isolations for much smaller latencies:
// latencyMax {50, 100, 550, 1000, 2000, 3000, 15000} ms and
// notAvailableDuration {0, 0, 30000, 60000, 120000, 180000, 600000} ms.
var (
	defaultLatencyMax = [...]time.Duration{
		50 * time.Millisecond, 100 * time.Millisecond, 550 * time.Millisecond, 1800 * time.Millisecond,
		3000 * time.Millisecond, 5000 * time.Millisecond, 15000 * time.Millisecond,
	}
	defaultNotAvailableDuration = [...]time.Duration{
		0, 0, 2000 * time.Millisecond, 5000 * time.Millisecond,
		6000 * time.Millisecond, 10000 * time.Millisecond, 30000 * time.Millisecond,
	}
)

// DefaultLatencyTable returns copies of the 5.x tables: an attempt that took at least latencyMax[i]
// isolates its broker for notAvailableDuration[i] (50/100/550/1800/3000/5000/15000 ms map to
// 0/0/2/5/6/10/30 s).
func DefaultLatencyTable() (latencyMax, notAvailableDuration []time.Duration) {
	return append([]time.Duration(nil), defaultLatencyMax[:]...),
		append([]time.Duration(nil), defaultNotAvailableDuration[:]...)
}

// Strategy is Java's MQFaultStrategy: it turns attempt outcomes into broker isolation and picks the
// queue of each attempt. It is safe for concurrent use; create one per producer with NewStrategy.
type Strategy struct {
	enabled              atomic.Bool
	latencyMax           []time.Duration
	notAvailableDuration []time.Duration
	tolerance            *LatencyFaultTolerance
	// counter serves SelectOneMessageQueue calls that pass no counter of their own.
	counter atomic.Uint32
}

// Option configures a Strategy.
type Option func(*Strategy)

// WithEnabled turns latency fault tolerance on or off (Java's sendLatencyFaultEnable). Default off,
// as in Java.
func WithEnabled(on bool) Option { return func(s *Strategy) { s.enabled.Store(on) } }

// WithClock makes the Strategy read time from now instead of time.Now, so tests can move time.
func WithClock(now func() time.Time) Option { return func(s *Strategy) { s.tolerance.now = now } }

// WithDetectInterval sets how often DetectOnce probes one broker at most. Default 2 s
// (DefaultDetectInterval).
func WithDetectInterval(d time.Duration) Option {
	return func(s *Strategy) { s.tolerance.detectInterval = d }
}

// WithLatencyTable replaces the latency to isolation table (Java's setLatencyMax and
// setNotAvailableDuration). The slices must have the same non-zero length and latencyMax must be
// ascending; anything else is a programming error and panics, because a wrong table would silently
// isolate brokers for the wrong time.
func WithLatencyTable(latencyMax, notAvailableDuration []time.Duration) Option {
	if len(latencyMax) == 0 || len(latencyMax) != len(notAvailableDuration) {
		panic(fmt.Sprintf("fault: WithLatencyTable: %d latencies for %d durations", len(latencyMax), len(notAvailableDuration)))
	}
	for i := 1; i < len(latencyMax); i++ {
		if latencyMax[i] < latencyMax[i-1] {
			panic(fmt.Sprintf("fault: WithLatencyTable: latencies not ascending at index %d", i))
		}
	}
	lm := append([]time.Duration(nil), latencyMax...)
	na := append([]time.Duration(nil), notAvailableDuration...)
	return func(s *Strategy) { s.latencyMax, s.notAvailableDuration = lm, na }
}

// NewStrategy returns a Strategy with Java 5.x defaults: disabled, the 5.x latency table, the wall
// clock.
func NewStrategy(opts ...Option) *Strategy {
	s := &Strategy{tolerance: &LatencyFaultTolerance{}}
	s.latencyMax, s.notAvailableDuration = DefaultLatencyTable()
	for _, o := range opts {
		o(s)
	}
	return s
}

// Enabled reports whether latency fault tolerance is on.
func (s *Strategy) Enabled() bool { return s.enabled.Load() }

// SetEnabled turns latency fault tolerance on or off at run time. Turning it off keeps the records,
// so turning it back on resumes with them.
func (s *Strategy) SetEnabled(on bool) { s.enabled.Store(on) }

// Tolerance returns the per-broker table behind the Strategy, for selectors that want an
// availability or latency view and for the service detector (DetectOnce).
func (s *Strategy) Tolerance() *LatencyFaultTolerance { return s.tolerance }

// UpdateFaultItem records one attempt on brokerName. currentLatency is how long the attempt took;
// isolation asks to isolate the broker as for a failure (the isolation time is computed as if the
// attempt had taken IsolationLatency); reachable false marks the broker unusable until a later
// success or a successful probe. When the Strategy is disabled it records nothing, as Java.
//
// Java 5.x calls it with (latency, false, true) after a success or a client-side error, with
// (latency, true, true) after a connection error (or (true, false) when the detector runs), and
// with (latency, true, false) after a broker error response.
func (s *Strategy) UpdateFaultItem(brokerName string, currentLatency time.Duration, isolation, reachable bool) {
	if !s.Enabled() {
		return
	}
	latency := currentLatency
	if isolation {
		latency = IsolationLatency
	}
	s.tolerance.UpdateFaultItem(brokerName, currentLatency, s.NotAvailableDuration(latency), reachable)
}

// NotAvailableDuration is Java's computeNotAvailableDuration: how long an attempt that took latency
// isolates its broker, from the largest latencyMax entry latency reaches (0 below the smallest).
func (s *Strategy) NotAvailableDuration(latency time.Duration) time.Duration {
	for i := len(s.latencyMax) - 1; i >= 0; i-- {
		if latency >= s.latencyMax[i] {
			return s.notAvailableDuration[i]
		}
	}
	return 0
}
