package send

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rocketsend/rocketsend/core/message"
)

// Feature detection. A broker answers every request with its own release in the response's
// version field (Java's MQVersion ordinal). The producer remembers it per broker address, from the
// first heartbeat (sent before the first request to a broker) and from every send response, and
// refuses a send that asks for something that broker's release does not have, instead of letting
// the broker do something else silently (a 4.x broker ignores the timer properties and delivers
// at once). A broker whose version is not known yet (its heartbeat failed) is not checked.
//
// Each feature here was found by sending to a broker of every tested line (docs/producer.md,
// "Broker releases").

// Feature is something a send can ask of a broker that not every RocketMQ release has.
type Feature struct {
	// Name says what the send asked for, in the words of the message property or request code.
	Name string
	// Since is the first release that has it, "5.0.0".
	Since string
}

// The features checked before a send.
var (
	// FeatureTimer is delivery at a time or after a delay given to the second or millisecond
	// (TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS: Message.SetDeliverAt/SetDeliverAfter):
	// the timer wheel of 5.0.0. A 4.x broker stores such a message as a normal one and delivers it
	// at once. Delay levels (DELAY) work on every release.
	FeatureTimer = Feature{Name: "timer delivery (TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS)", Since: "5.0.0"}
	// FeatureRecall is the recall of a timer message before it is delivered (RECALL_MESSAGE,
	// request code 370), added in 5.3.2.
	FeatureRecall = Feature{Name: "recall of timer messages (RECALL_MESSAGE)", Since: "5.3.2"}
)

// ErrFeatureUnsupported is matched (errors.Is) by every FeatureError.
var ErrFeatureUnsupported = errors.New("send: the broker's RocketMQ release lacks a feature the send asks for")

// FeatureError is returned, before anything is written, by a send that asks a broker for a
// feature its release does not have. It is not retried: another attempt would ask the same.
type FeatureError struct {
	Feature Feature
	Broker  string // broker name
	Addr    string
	Version int32 // the broker's MQVersion ordinal, as its responses report it
}

func (e *FeatureError) Error() string {
	return fmt.Sprintf("send: %s needs RocketMQ %s or later; broker %s (%s) runs %s",
		e.Feature.Name, e.Feature.Since, e.Broker, e.Addr, VersionName(e.Version))
}

// Is makes errors.Is(err, ErrFeatureUnsupported) true.
func (e *FeatureError) Is(target error) bool { return target == ErrFeatureUnsupported }

// MQVersion ordinals: Java's MQVersion.Version enum is regular from V4_0_0_SNAPSHOT (212) to
// V5_9_9 (611): every x.y.z has a _SNAPSHOT entry followed by the release.
const (
	versionV4Snapshot = 212
	versionHighest    = 611 // V5_9_9
	versionHigher     = 612 // HIGHER_VERSION
)

// VersionOrdinal returns the MQVersion ordinal of release "x.y.z" (4.0.0 to 5.9.9), or -1.
func VersionOrdinal(release string) int32 {
	var x, y, z int
	if n, err := fmt.Sscanf(release, "%d.%d.%d", &x, &y, &z); err != nil || n != 3 ||
		x < 4 || x > 5 || y < 0 || y > 9 || z < 0 || z > 9 {
		return -1
	}
	return int32(versionV4Snapshot + 2*(100*(x-4)+10*y+z) + 1)
}

// VersionName returns the release an MQVersion ordinal stands for: "4.9.7 (V4_9_7)",
// "5.0.0-SNAPSHOT (V5_0_0_SNAPSHOT)", or the bare ordinal outside the regular range.
func VersionName(v int32) string {
	switch {
	case v == versionHigher:
		return "a release after 5.9.9 (HIGHER_VERSION)"
	case v < versionV4Snapshot || v > versionHighest:
		return fmt.Sprintf("a release with version ordinal %d", v)
	}
	n := int(v-versionV4Snapshot) / 2
	x, y, z := 4+n/100, n/10%10, n%10
	if (v-versionV4Snapshot)%2 == 0 {
		return fmt.Sprintf("%d.%d.%d-SNAPSHOT (V%d_%d_%d_SNAPSHOT)", x, y, z, x, y, z)
	}
	return fmt.Sprintf("%d.%d.%d (V%d_%d_%d)", x, y, z, x, y, z)
}

// brokerVersions remembers the version each broker address last answered with.
type brokerVersions struct {
	mu sync.Mutex
	m  map[string]int32
}

func (b *brokerVersions) note(addr string, v int32) {
	if v <= 0 {
		return
	}
	b.mu.Lock()
	if b.m == nil {
		b.m = map[string]int32{}
	}
	b.m[addr] = v
	b.mu.Unlock()
}

func (b *brokerVersions) get(addr string) (int32, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[addr]
	return v, ok
}

// BrokerVersion returns the MQVersion ordinal the broker at addr last answered with, and whether
// it has answered at all; VersionName turns it into a release.
func (p *Producer) BrokerVersion(addr string) (int32, bool) { return p.versions.get(addr) }

// RequireFeature returns a *FeatureError when the broker at addr is known to run a release
// without f, nil otherwise (also when its version is not known yet). broker names it in the
// error.
func (p *Producer) RequireFeature(f Feature, broker, addr string) error {
	v, ok := p.versions.get(addr)
	if !ok || v >= VersionOrdinal(f.Since) {
		return nil
	}
	return &FeatureError{Feature: f, Broker: broker, Addr: addr, Version: v}
}

// checkFeatures refuses the attempt when the chosen broker lacks what the message asks for.
func (c *call) checkFeatures() error {
	m := c.msg
	if (c.batch || c.props.Special) && (m.Property(message.PropertyTimerDeliverMS) != "" ||
		m.Property(message.PropertyTimerDelaySec) != "" || m.Property(message.PropertyTimerDelayMS) != "") {
		if _, known := c.p.versions.get(c.addr); !known {
			// The release comes with the first heartbeat's answer, which a send does not
			// otherwise wait for: wait for it here, within the attempt's deadline.
			_ = c.p.heartbeat(c.ctx, c.addr, c.attemptDl)
		}
		return c.p.RequireFeature(FeatureTimer, c.brokerQ.BrokerName, c.addr)
	}
	return nil
}
