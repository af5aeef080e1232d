package send

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// hookSet is one generation of the producer's hooks and default selector: what WithHooks and
// WithQueueSelector set, or a later ReplaceHooks. It never changes once built; replacing hooks
// builds a new set. Every send pins the set it starts with for all of its attempts, so a set
// knows when the last send using it has finished (drained), which is when the owner of the hooks
// may release what they hold (plugin instances).
type hookSet struct {
	forbidden []CheckForbiddenHook
	before    []SendMessageBeforeHook
	after     []SendMessageAfterHook
	endTx     []EndTransactionHook

	factory   SelectorFactory
	selectors sync.Map // topic -> QueueSelector, from factory

	users     atomic.Int64 // sends started with this set and not finished
	retired   atomic.Bool  // replaced: drained closes when users reaches zero
	drained   chan struct{}
	drainOnce sync.Once
}

// newHookSet sorts hooks by the interfaces they implement (see Hook).
func newHookSet(hooks []Hook, f SelectorFactory) (*hookSet, error) {
	hs := &hookSet{factory: f, drained: make(chan struct{})}
	for i, h := range hooks {
		if isNil(h) {
			return nil, errNil(fmt.Sprintf("hook %d", i))
		}
		used := false
		if x, ok := h.(CheckForbiddenHook); ok {
			hs.forbidden, used = append(hs.forbidden, x), true
		}
		if x, ok := h.(SendMessageBeforeHook); ok {
			hs.before, used = append(hs.before, x), true
		}
		if x, ok := h.(SendMessageAfterHook); ok {
			hs.after, used = append(hs.after, x), true
		}
		if x, ok := h.(EndTransactionHook); ok {
			hs.endTx, used = append(hs.endTx, x), true
		}
		if !used {
			return nil, fmt.Errorf("send: hook %T implements none of the hook interfaces", h)
		}
	}
	return hs, nil
}

// unpin ends one send's use of the set.
func (hs *hookSet) unpin() {
	if hs.users.Add(-1) == 0 && hs.retired.Load() {
		hs.drainOnce.Do(func() { close(hs.drained) })
	}
}

// retire marks a replaced set; drained closes now if no send uses it, else when the last ends.
func (hs *hookSet) retire() {
	hs.retired.Store(true)
	if hs.users.Load() == 0 {
		hs.drainOnce.Do(func() { close(hs.drained) })
	}
}

// pinHooks returns the current hook set, counted as used until unpin. A send that loads a set
// just as it is replaced counts itself on it, sees the replacement and moves to the new set, so a
// retired set that reported drained is never used again.
func (p *Producer) pinHooks() *hookSet {
	for {
		hs := p.hooks.Load()
		hs.users.Add(1)
		if p.hooks.Load() == hs {
			return hs
		}
		hs.unpin()
	}
}

// selectorFor returns the set's selector for a topic (without namespace), asking the factory once.
func (hs *hookSet) selectorFor(topic string) QueueSelector {
	if s, ok := hs.selectors.Load(topic); ok {
		return s.(QueueSelector)
	}
	s, _ := hs.selectors.LoadOrStore(topic, hs.factory.SelectorFor(topic))
	return s.(QueueSelector)
}

// ReplaceHooks swaps the producer's hooks and default queue selector factory (what WithHooks and
// WithQueueSelector set) for new ones, atomically: sends that start afterwards see only the new
// set, while a send already started finishes, all its retries and its After hooks included, on
// the set it started with. A nil factory means the built-in round robin.
//
// The returned channel is closed once no send uses the previous set any more: only then may the
// caller release what the old hooks hold, such as plugin instances. An invalid hook leaves the
// current set in place. EndTransaction hooks are swapped too; a broker check-back uses the set
// current when it arrives.
func (p *Producer) ReplaceHooks(f SelectorFactory, hooks ...Hook) (drained <-chan struct{}, err error) {
	hs, err := newHookSet(hooks, f)
	if err != nil {
		return nil, err
	}
	old := p.hooks.Swap(hs)
	old.retire()
	return old.drained, nil
}
