package host

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Set is an ordered list of plugins run as one: what a producer is given (send.WithHooks and
// send.WithQueueSelector, or send.Producer.ReplaceHooks) to run a configuration's plugins.
type Set []Plugin

// Hooks returns the send hooks of the set's plugins, in order; plugins without a send hook point
// in use have none.
func (s Set) Hooks() []send.Hook {
	var hooks []send.Hook
	for _, p := range s {
		if h := p.Hooks(); h != nil {
			hooks = append(hooks, h)
		}
	}
	return hooks
}

// SelectorFactory returns the selector chain of the set: for each topic, the first plugin with
// SELECT_QUEUE in use is asked; when it makes no choice, is not used for the topic or fails
// open, the next one is, and after the last the producer's round robin decides. It is nil when
// no plugin of the set selects.
func (s Set) SelectorFactory() send.SelectorFactory {
	var selectors []Plugin
	for _, p := range s {
		if slices.Contains(p.Points(), hookv1.PointSelectQueue) {
			selectors = append(selectors, p)
		}
	}
	if len(selectors) == 0 {
		return nil
	}
	return send.SelectorFactoryFunc(func(string) send.QueueSelector {
		sel := send.RoundRobin()
		for i := len(selectors) - 1; i >= 0; i-- {
			sel = selectors[i].Selector(sel)
		}
		return sel
	})
}

// Close closes every plugin of the set; the error joins those of the plugins that failed to
// close, each named.
func (s Set) Close(ctx context.Context) error {
	var errs []error
	for _, p := range s {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing %s %q: %w", transportName(p.Kind()), p.Name(), err))
		}
	}
	return errors.Join(errs...)
}
