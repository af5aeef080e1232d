package send

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Settings Java's DefaultMQProducer and ClientConfig have that the core options above do not
// cover. Each is checked by New with the others (see validateJava).

// javaConfig holds them; it is embedded in config.
type javaConfig struct {
	createTopicKey       string
	clientIP             string
	unitMode             bool
	latencyMax           []time.Duration
	notAvailableDuration []time.Duration
}

// WithCreateTopicKey sets the topic whose route stands in for a topic that does not exist yet, and
// that the broker copies when it creates a topic on first send (Java's createTopicKey). Default
// DefaultTopicKey ("TBW102"), the topic brokers with autoCreateTopicEnable publish. A cluster that
// publishes another key topic, or none, changes it here.
func WithCreateTopicKey(topic string) Option {
	return func(c *config) { c.createTopicKey = topic }
}

// WithClientIP sets the address the producer announces: the ip part of the client id
// (ip@instance), which brokers route check-backs and replies by, and the born host hooks see.
// Default: the first non-loopback IPv4 address of the machine (Java's clientIP). Set it when the
// machine has several and the brokers know it by another.
func WithClientIP(ip string) Option { return func(c *config) { c.clientIP = ip } }

// WithUnitMode sets the unitMode flag of every send request, Java's ClientConfig.unitMode: brokers
// of a unitized deployment use it to accept sends to unit topics (TopicSysFlagUnit). Default off.
func WithUnitMode(on bool) Option { return func(c *config) { c.unitMode = on } }

// WithLatencyTable replaces the table latency fault tolerance isolates brokers by (Java's
// setLatencyMax and setNotAvailableDuration): an attempt that took at least latencyMax[i]
// isolates its broker for notAvailableDuration[i]; a failed attempt counts as 10 s. Both slices
// have the same length and latencyMax ascends. Default, Java 5.x's: 50, 100, 550 ms, 1.8, 3, 5,
// 15 s isolate for 0, 0, 2, 5, 6, 10, 30 s. It matters only with WithFaultTolerance(true).
func WithLatencyTable(latencyMax, notAvailableDuration []time.Duration) Option {
	return func(c *config) {
		c.latencyMax = append([]time.Duration(nil), latencyMax...)
		c.notAvailableDuration = append([]time.Duration(nil), notAvailableDuration...)
	}
}

func (c *javaConfig) validateJava() []error {
	var errs []error
	if c.createTopicKey == "" {
		errs = append(errs, errors.New("create topic key must not be empty"))
	}
	if c.clientIP != "" {
		if _, err := netip.ParseAddr(c.clientIP); err != nil {
			errs = append(errs, fmt.Errorf("client IP %q is not an IP address", c.clientIP))
		}
	}
	if c.latencyMax != nil || c.notAvailableDuration != nil {
		if len(c.latencyMax) == 0 || len(c.latencyMax) != len(c.notAvailableDuration) {
			errs = append(errs, fmt.Errorf("latency table: %d latencies for %d isolation times; both must be non-empty and of one length",
				len(c.latencyMax), len(c.notAvailableDuration)))
		} else {
			for i := range c.latencyMax {
				if c.latencyMax[i] < 0 || c.notAvailableDuration[i] < 0 {
					errs = append(errs, fmt.Errorf("latency table: entry %d is negative", i))
					break
				}
				if i > 0 && c.latencyMax[i] < c.latencyMax[i-1] {
					errs = append(errs, fmt.Errorf("latency table: latencies do not ascend at entry %d", i))
					break
				}
			}
		}
	}
	return errs
}
