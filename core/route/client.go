// Package route is rocketsend's NameServer client: it fetches topic routes
// (GET_ROUTEINFO_BY_TOPIC), turns them into publish queues exactly as the Java client does, caches
// them per topic, keeps them fresh in the background and on demand, and keeps the table of broker
// addresses the producer sends and heartbeats to.
//
// It follows Java's MQClientInstance and DefaultMQProducerImpl.tryToFindTopicPublishInfo: the
// default-topic (TBW102) fallback for topics that do not exist yet, a poll of every cached topic
// every 30 s, NameServer failover. It adds what rocketmq-client-go lacked (#730, #736): Refresh,
// which the producer calls right after a broker error so a restarted or removed broker is seen at
// once rather than up to 30 s later.
package route

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// Client resolves topics to publish queues and broker names to addresses. It is safe for concurrent
// use. Create one per producer with New; Start runs the background refresh and Close stops it.
type Client struct {
	cfg config
	rc  *remote.Client
	// nsIndex is the NameServer to ask first: the one that answered last, initially a random one so
	// that many producers spread over the NameServers.
	nsIndex atomic.Uint32
	closed  atomic.Bool

	mu      sync.RWMutex
	topics  map[string]*cached
	flights map[string]*flight

	bmu     sync.RWMutex
	brokers map[string]map[int64]string // broker name -> broker id -> address

	loopMu   sync.Mutex
	started  bool
	stopLoop context.CancelFunc
	loopDone chan struct{}
}

// New returns a Client that sends its requests through rc, which the caller owns (and shares with
// the producer, so NameServer and broker connections live in one place) and closes after the
// Client. WithNameServers is required.
func New(rc *remote.Client, opts ...Option) (*Client, error) {
	if rc == nil {
		return nil, errors.New("route: New needs a *remote.Client")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.nameServers) == 0 {
		return nil, errors.New("route: no NameServer address (WithNameServers)")
	}
	c := &Client{
		cfg:     cfg,
		rc:      rc,
		topics:  make(map[string]*cached),
		flights: make(map[string]*flight),
		brokers: make(map[string]map[int64]string),
	}
	c.nsIndex.Store(rand.Uint32())
	return c, nil
}

// NameServers returns the configured NameServer addresses.
func (c *Client) NameServers() []string { return slices.Clone(c.cfg.nameServers) }

// Start launches the background loop that fetches every cached topic's route again each poll
// interval (WithPollInterval). Calling it again does nothing; after Close it returns ErrClosed.
func (c *Client) Start() error {
	c.loopMu.Lock()
	defer c.loopMu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	if c.started {
		return nil
	}
	c.started = true
	ctx, cancel := context.WithCancel(context.Background())
	c.stopLoop = cancel
	c.loopDone = make(chan struct{})
	go c.poll(ctx)
	return nil
}

// Close stops the background loop, waiting until it has exited (a refresh in progress is cancelled),
// and makes every later call fail with ErrClosed. It does not close the remote.Client. Calling it
// again does nothing.
func (c *Client) Close() error {
	c.loopMu.Lock()
	defer c.loopMu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	if c.started {
		c.stopLoop()
		<-c.loopDone
	}
	return nil
}

// BrokerAddr returns the master address of broker brokerName, or "" when no route fetched so far
// lists a master for it.
func (c *Client) BrokerAddr(brokerName string) string {
	c.bmu.RLock()
	defer c.bmu.RUnlock()
	return c.brokers[brokerName][codec.MasterID]
}

// Brokers returns broker name -> master address for every broker with a master in the routes
// fetched so far: the brokers a producer heartbeats to. The map is the caller's.
func (c *Client) Brokers() map[string]string {
	c.bmu.RLock()
	defer c.bmu.RUnlock()
	m := make(map[string]string, len(c.brokers))
	for name, addrs := range c.brokers {
		if a, ok := addrs[codec.MasterID]; ok {
			m[name] = a
		}
	}
	return m
}

// rememberBrokers replaces the addresses of every broker the route lists, as Java's brokerAddrTable
// does: the latest route naming a broker is the truth about it (a master that went away leaves
// only its slaves, so BrokerAddr stops returning it).
func (c *Client) rememberBrokers(rd *codec.TopicRouteData) {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	for _, bd := range rd.BrokerDatas {
		c.brokers[bd.BrokerName] = maps.Clone(bd.BrokerAddrs)
	}
}

// cleanOfflineBrokers forgets every broker address that no cached route lists any more, and a
// broker with no address left, as Java's MQClientInstance.cleanOfflineBroker does after each
// poll: a broker that left every route is no longer heartbeated, unregistered or dialled. It
// returns the addresses it forgot. Routes that failed to refresh stay cached, so a NameServer
// outage forgets nothing.
func (c *Client) cleanOfflineBrokers() []string {
	live := map[string]bool{}
	c.mu.RLock()
	for _, e := range c.topics {
		if e.info == nil || e.info.Route == nil {
			continue
		}
		for _, bd := range e.info.Route.BrokerDatas {
			for _, a := range bd.BrokerAddrs {
				live[a] = true
			}
		}
	}
	c.mu.RUnlock()
	var gone []string
	c.bmu.Lock()
	defer c.bmu.Unlock()
	for name, addrs := range c.brokers {
		for id, a := range addrs {
			if !live[a] {
				delete(addrs, id)
				gone = append(gone, a)
			}
		}
		if len(addrs) == 0 {
			delete(c.brokers, name)
		}
	}
	if len(gone) > 0 {
		c.cfg.logger.Info("route: forgot brokers that no route lists any more", "addresses", gone)
	}
	return gone
}
