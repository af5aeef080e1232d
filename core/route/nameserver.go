package route

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// FetchRoute asks the NameServers for topic's route (GET_ROUTEINFO_BY_TOPIC, in standard JSON),
// bypassing the cache; the broker address table is updated from the answer. A topic the NameServer
// does not know fails with a *NoRouteError (errors.Is(err, ErrNoRoute)); a NameServer that cannot be
// reached or does not answer within the timeout is given up for the next one, and a *ResponseError
// reports any other answer.
func (c *Client) FetchRoute(ctx context.Context, topic string) (*codec.TopicRouteData, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return c.fetchRoute(ctx, topic)
}

// fetchRoute asks the NameServers in turn, from the one that answered last, until one answers:
// Java's NettyRemotingClient starts at a random NameServer and keeps using the one it is connected
// to until it fails. Only transport failures (no connection, timeout) move on to the next
// NameServer; an answer, even an error code, is the cluster's answer, because every NameServer
// holds the same registrations.
func (c *Client) fetchRoute(ctx context.Context, topic string) (*codec.TopicRouteData, error) {
	servers := c.cfg.nameServers
	start := int(c.nsIndex.Load() % uint32(len(servers)))
	asked := make([]string, 0, len(servers))
	var failures []error
	for i := range servers {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("route: fetching topic %q: %w", topic, err)
		}
		idx := (start + i) % len(servers)
		addr := servers[idx]
		asked = append(asked, addr)

		req := codec.NewRequest(codec.GetRouteInfoByTopic,
			&codec.GetRouteInfoRequestHeader{Topic: topic, AcceptStandardJSONOnly: true}, nil)
		resp, err := c.rc.Invoke(ctx, addr, req, time.Now().Add(c.cfg.timeout))
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("route: fetching topic %q from %s: %w", topic, addr, err)
			}
			timedOut := errors.Is(err, remote.ErrTimeout)
			if !timedOut && !errors.Is(err, remote.ErrConnClosed) && !errors.Is(err, remote.ErrConnect) {
				return nil, fmt.Errorf("route: fetching topic %q from %s: %w", topic, addr, err)
			}
			if timedOut {
				// A NameServer that does not answer is usually a dead peer behind a half-open
				// connection; dropping it makes the next attempt dial afresh instead of queueing
				// behind it.
				c.rc.CloseConn(addr)
			}
			c.cfg.logger.Warn("route: NameServer failed, trying the next one",
				"nameserver", addr, "topic", topic, "error", err)
			failures = append(failures, err)
			continue
		}
		if idx != start {
			c.nsIndex.Store(uint32(idx))
			c.cfg.logger.Info("route: switched NameServer", "nameserver", addr)
		}
		switch resp.Code {
		case codec.Success:
			rd, err := codec.DecodeTopicRouteData(resp.Body)
			if err != nil {
				return nil, fmt.Errorf("route: topic %q from %s: %w", topic, addr, err)
			}
			c.rememberBrokers(rd)
			return rd, nil
		case codec.TopicNotExist:
			return nil, &NoRouteError{Topic: topic, NameServers: asked}
		default:
			return nil, &ResponseError{Addr: addr, Topic: topic, Code: resp.Code, Remark: resp.Remark}
		}
	}
	return nil, fmt.Errorf("route: fetching topic %q: no NameServer answered (asked %s): %w",
		topic, strings.Join(asked, ", "), errors.Join(failures...))
}
