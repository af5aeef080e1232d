package route

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// cached is one topic's entry in the cache.
type cached struct {
	info *TopicPublishInfo
	// fetchedAt is when info was fetched; Refresh and the poll skip routes fresher than
	// minRefreshInterval.
	fetchedAt time.Time
}

// flight is a fetch in progress; callers asking for the same topic meanwhile wait for it instead of
// sending requests of their own.
type flight struct {
	done chan struct{}
	info *TopicPublishInfo
	err  error
	// waiters counts the callers that joined (guarded by Client.mu); tests watch it.
	waiters int
}

// PublishInfo returns topic's publish queues from the cache, fetching the route when the topic is
// not cached yet or its cached queue list is empty. Concurrent callers for one topic share one
// fetch. A topic without a route is published through the default topic (see WithDefaultTopic), and
// the result has Fallback set; with the fallback off, or when the default topic has no route either,
// it fails with a *NoRouteError.
//
// The result can be Empty (the route lists no writable queue on a broker with a master); the
// producer must then fail the send.
func (c *Client) PublishInfo(ctx context.Context, topic string) (*TopicPublishInfo, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if info := c.Cached(topic); info != nil {
		return info, nil
	}
	// An empty route is asked again, as Java does, but no more often than Refresh would.
	return c.load(ctx, topic, c.cfg.minRefreshInterval)
}

// Cached returns topic's publish info when the cache holds a non-empty one, else nil; it never
// fetches, so the send path asks it first and builds a context for PublishInfo only on a miss.
func (c *Client) Cached(topic string) *TopicPublishInfo {
	if c.closed.Load() {
		return nil
	}
	c.mu.RLock()
	e := c.topics[topic]
	c.mu.RUnlock()
	if e != nil && !e.info.Empty() {
		return e.info
	}
	return nil
}

// Refresh fetches topic's route now and replaces the cached publish info with the result; the
// producer calls it right after a send fails on a broker, so it learns of a dead or moved broker
// without waiting for the next poll (rocketmq-client-go #730). A route fetched less than
// WithMinRefreshInterval ago (1 s by default) counts as fresh and is returned as is, and a fetch
// already in progress for the topic is joined, so a burst of failures costs one request.
//
// On failure the cached info, if any, stays in place (Java keeps the last known route too) and the
// error is returned.
func (c *Client) Refresh(ctx context.Context, topic string) (*TopicPublishInfo, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return c.load(ctx, topic, c.cfg.minRefreshInterval)
}

// Topics returns the cached topics, sorted.
func (c *Client) Topics() []string {
	c.mu.RLock()
	topics := make([]string, 0, len(c.topics))
	for t := range c.topics {
		topics = append(topics, t)
	}
	c.mu.RUnlock()
	slices.Sort(topics)
	return topics
}

// load returns topic's publish info, fetched now unless the cached one is younger than maxAge (0
// always fetches), joining a fetch already in progress.
func (c *Client) load(ctx context.Context, topic string, maxAge time.Duration) (*TopicPublishInfo, error) {
	for {
		c.mu.Lock()
		if e := c.topics[topic]; e != nil && maxAge > 0 && time.Since(e.fetchedAt) < maxAge {
			c.mu.Unlock()
			return e.info, nil
		}
		if f := c.flights[topic]; f != nil {
			f.waiters++
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("route: waiting for topic %q: %w", topic, context.Cause(ctx))
			}
			if f.err != nil && isContextError(f.err) && ctx.Err() == nil {
				continue // the caller that fetched gave up; this one still wants the answer
			}
			return f.info, f.err
		}
		f := &flight{done: make(chan struct{})}
		c.flights[topic] = f
		c.mu.Unlock()

		f.info, f.err = c.fetchPublishInfo(ctx, topic)

		c.mu.Lock()
		delete(c.flights, topic)
		if f.err == nil {
			c.store(topic, f.info)
		}
		c.mu.Unlock()
		close(f.done)
		return f.info, f.err
	}
}

// store caches info for topic; c.mu must be held.
func (c *Client) store(topic string, info *TopicPublishInfo) {
	old := c.topics[topic]
	if old != nil {
		info.counter.Store(old.info.counter.Load())
	}
	c.topics[topic] = &cached{info: info, fetchedAt: time.Now()}
	if old == nil || old.info.Fallback != info.Fallback || !slices.Equal(old.info.Queues, info.Queues) {
		c.cfg.logger.Info("route: publish queues changed",
			"topic", topic, "queues", len(info.Queues), "fallback", info.Fallback, "order", info.OrderTopic)
	}
}

// fetchPublishInfo fetches topic's route and builds its publish info, falling back to the default
// topic's route when the topic has none (Java's tryToFindTopicPublishInfo).
func (c *Client) fetchPublishInfo(ctx context.Context, topic string) (*TopicPublishInfo, error) {
	rd, err := c.fetchRoute(ctx, topic)
	if err == nil {
		return NewTopicPublishInfo(topic, rd)
	}
	var noRoute *NoRouteError
	def := c.cfg.defaultTopic
	if !errors.As(err, &noRoute) || def == "" || def == topic {
		return nil, err
	}

	defRoute, err := c.fetchRoute(ctx, def)
	if err != nil {
		var defNoRoute *NoRouteError
		if errors.As(err, &defNoRoute) {
			return nil, &NoRouteError{Topic: topic, NameServers: noRoute.NameServers, DefaultTopic: def}
		}
		return nil, fmt.Errorf("%w; fetching default topic %q: %w", noRoute, def, err)
	}
	info, err := NewTopicPublishInfo(topic, fallbackRoute(defRoute, c.cfg.defaultQueueNums))
	if err != nil {
		return nil, err
	}
	if info.Empty() {
		return nil, &NoRouteError{Topic: topic, NameServers: noRoute.NameServers, DefaultTopic: def}
	}
	info.Fallback = true
	c.cfg.logger.Info("route: topic has no route yet, publishing through the default topic",
		"topic", topic, "default_topic", def, "queues", len(info.Queues))
	return info, nil
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// poll is the background loop: every poll interval it fetches each cached topic again, one after
// another, so a producer with many topics sends the NameServer a trickle rather than a burst, then
// forgets the brokers no route lists any more (cleanOfflineBrokers).
func (c *Client) poll(ctx context.Context) {
	defer close(c.loopDone)
	t := time.NewTicker(c.cfg.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, topic := range c.Topics() {
			if ctx.Err() != nil {
				return
			}
			if _, err := c.load(ctx, topic, c.cfg.minRefreshInterval); err != nil && ctx.Err() == nil {
				c.cfg.logger.Warn("route: refreshing topic failed, keeping the last known route",
					"topic", topic, "error", err)
			}
		}
		c.cleanOfflineBrokers()
	}
}
