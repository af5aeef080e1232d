package route

import (
	"log/slog"
	"strings"
	"time"
)

// Defaults, as Java's ClientConfig and DefaultMQProducer have them.
const (
	// DefaultTimeout bounds one request to one NameServer (Java's mqClientApiTimeout, 3000 ms).
	DefaultTimeout = 3 * time.Second
	// DefaultPollInterval is how often every cached topic's route is fetched again (Java's
	// pollNameServerInterval, 30 s).
	DefaultPollInterval = 30 * time.Second
	// DefaultTopic is the route template of topics the broker creates on first send (Java's
	// TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC).
	DefaultTopic = "TBW102"
	// DefaultTopicQueueNums caps the queues per broker of a topic published through the default
	// topic (Java's DefaultMQProducer.defaultTopicQueueNums).
	DefaultTopicQueueNums = 4
	// DefaultMinRefreshInterval is how fresh a route must be for Refresh to reuse it instead of
	// asking a NameServer again.
	DefaultMinRefreshInterval = time.Second
)

type config struct {
	nameServers        []string
	timeout            time.Duration
	pollInterval       time.Duration
	minRefreshInterval time.Duration
	defaultTopic       string // "" disables the fallback
	defaultQueueNums   int
	logger             *slog.Logger
}

func defaultConfig() config {
	return config{
		timeout:            DefaultTimeout,
		pollInterval:       DefaultPollInterval,
		minRefreshInterval: DefaultMinRefreshInterval,
		defaultTopic:       DefaultTopic,
		defaultQueueNums:   DefaultTopicQueueNums,
		logger:             slog.New(slog.DiscardHandler),
	}
}

// Option configures a Client.
type Option func(*config)

// WithNameServers adds NameServer addresses ("host:port"). An argument may hold several addresses
// separated by ';', the form of Java's namesrvAddr, so a configuration string can be passed as is.
// At least one address is required.
func WithNameServers(addrs ...string) Option {
	return func(c *config) {
		for _, a := range addrs {
			for _, s := range strings.Split(a, ";") {
				if s = strings.TrimSpace(s); s != "" {
					c.nameServers = append(c.nameServers, s)
				}
			}
		}
	}
}

// WithTimeout bounds each request to one NameServer; a NameServer that does not answer in time is
// given up for the next one. Default 3 s. The caller's context can shorten it.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithPollInterval sets how often the background loop (Start) fetches every cached topic's route
// again. Default 30 s.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pollInterval = d
		}
	}
}

// WithMinRefreshInterval sets how fresh a cached route must be for Refresh to return it without a
// request. Default 1 s; 0 makes every Refresh ask a NameServer. It exists because every send that
// fails on a dead broker asks for a refresh: thousands of in-flight sends failing together should
// cost the NameServer one request, not thousands.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.minRefreshInterval = d
		}
	}
}

// WithDefaultTopic sets the topic whose route is used for topics that have none yet. Default
// "TBW102", which brokers with autoCreateTopicEnable publish.
func WithDefaultTopic(topic string) Option {
	return func(c *config) {
		if topic != "" {
			c.defaultTopic = topic
		}
	}
}

// WithoutDefaultTopic turns the default-topic fallback off: a topic without a route fails with a
// NoRouteError instead of being published through the default topic's brokers (use it when topics
// must be created by an administrator).
func WithoutDefaultTopic() Option { return func(c *config) { c.defaultTopic = "" } }

// WithDefaultTopicQueueNums caps the queues per broker of a topic published through the default
// topic. Default 4, as Java's defaultTopicQueueNums.
func WithDefaultTopicQueueNums(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.defaultQueueNums = n
		}
	}
}

// WithLogger sets where NameServer failover, route changes and failed refreshes are reported.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
