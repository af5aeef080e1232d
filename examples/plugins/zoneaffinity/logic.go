package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// selector prefers the queues of the configured brokers, round-robin; when none of them is offered
// it makes no choice, so the built-in selector picks among all queues.
type selector struct {
	brokers []string
	next    uint32
	cand    []int32 // reused
}

func parseConfig(c hookv1.HookConfig) (*selector, error) {
	s := &selector{}
	for _, kv := range c.Settings {
		switch kv.Key {
		case "brokers":
			s.brokers = s.brokers[:0]
			for _, b := range strings.Split(kv.Value, ",") {
				if b = strings.TrimSpace(b); b != "" {
					s.brokers = append(s.brokers, b)
				}
			}
		default:
			return nil, fmt.Errorf("zoneaffinity: unknown setting %q", kv.Key)
		}
	}
	if len(s.brokers) == 0 {
		return nil, errors.New("zoneaffinity: setting brokers (comma-separated broker names) is required")
	}
	return s, nil
}

func (s *selector) preferred(broker []byte) bool {
	for _, b := range s.brokers {
		if string(broker) == b {
			return true
		}
	}
	return false
}

func (s *selector) selectQueue(v *hookv1.View, d *hookv1.DecisionBuilder) error {
	s.cand = s.cand[:0]
	it := v.Queues()
	for {
		i, broker, _, ok := it.Next()
		if !ok {
			break
		}
		if s.preferred(broker) {
			s.cand = append(s.cand, int32(i))
		}
	}
	if len(s.cand) == 0 {
		return nil // fall back to all queues: the built-in selector decides
	}
	d.SelectQueue(s.cand[s.next%uint32(len(s.cand))])
	s.next++
	return nil
}
