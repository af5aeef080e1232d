package host

import (
	"context"
	"sync"
	"time"
)

// The per-call deadline of WithCallTimeout. wazero can only interrupt a guest through the context of
// the call (WithCloseOnContextDone), and a context.WithTimeout per call costs a timer and four
// allocations. Instead each instance keeps one cancellable context for its whole life, and one
// watchdog goroutine per plugin cancels the context of an instance whose call has run too long; the
// instance is discarded after that call anyway. A call then costs two atomic stores and a clock
// read. The deadline is enforced within a quarter of the timeout (the watchdog's period).

// watchdog tracks the instances of one plugin that have a call deadline.
type watchdog struct {
	timeout time.Duration
	epoch   time.Time // call start times are monotonic offsets from here

	mu   sync.Mutex
	live map[*instance]struct{}
	stop chan struct{}
	done chan struct{}
}

func newWatchdog(timeout time.Duration) *watchdog {
	w := &watchdog{timeout: timeout, epoch: time.Now(), live: map[*instance]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(max(timeout/4, time.Millisecond))
	return w
}

// now is the monotonic time since the epoch, never 0 (0 marks an idle instance).
func (w *watchdog) now() int64 { return int64(time.Since(w.epoch)) + 1 }

// add gives in a cancellable context derived from parent and starts watching it.
func (w *watchdog) add(in *instance, parent context.Context) {
	in.ctx, in.cancel = context.WithCancel(parent)
	w.mu.Lock()
	w.live[in] = struct{}{}
	w.mu.Unlock()
}

// remove stops watching in and releases its context.
func (w *watchdog) remove(in *instance) {
	w.mu.Lock()
	delete(w.live, in)
	w.mu.Unlock()
	in.cancel()
}

func (w *watchdog) run(period time.Duration) {
	defer close(w.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		now := w.now()
		w.mu.Lock()
		for in := range w.live {
			// The swap to -1 tells the caller, if the call ends meanwhile, that the context is
			// cancelled and the instance must go.
			if s := in.started.Load(); s > 0 && time.Duration(now-s) > w.timeout && in.started.CompareAndSwap(s, -1) {
				in.cancel() // wazero closes the module; the call returns a timeout exit error
			}
		}
		w.mu.Unlock()
	}
}

// close stops the watchdog goroutine and waits for it.
func (w *watchdog) close() {
	close(w.stop)
	<-w.done
}
