package remote

import (
	"sync"
	"time"
)

// wheel keeps the deadlines of all in-flight requests of a Client: a hashed timing wheel with an
// intrusive list per slot. Adding and removing a request is O(1) under one mutex; one goroutine
// advances the wheel, and it sleeps while nothing is in flight. This replaces a timer or a
// goroutine per request, the cost that made other Go clients leak goroutines under load.
type wheel struct {
	mu      sync.Mutex
	tick    time.Duration
	start   time.Time
	slots   []*pending // heads of doubly-linked lists
	curTick int64      // last tick processed
	count   int
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	expire  func(expiry)
}

// expiry is a request the wheel found past its deadline, with the connection and opaque it had
// then: read under the wheel's lock, because a caller may reuse its Pending (with a new opaque)
// as soon as another path completed the request.
type expiry struct {
	p      *pending
	conn   *conn
	opaque int32
}

const wheelSlots = 1024

func newWheel(tick time.Duration, expire func(expiry)) *wheel {
	w := &wheel{tick: tick, start: time.Now(), slots: make([]*pending, wheelSlots),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), expire: expire}
	go w.run()
	return w
}

// deadlineTick rounds up and nowTick rounds down, so a request never expires before its deadline.
func (w *wheel) deadlineTick(t time.Time) int64 {
	return int64(t.Sub(w.start)+w.tick-1) / int64(w.tick)
}

func (w *wheel) nowTick() int64 { return int64(time.Since(w.start)) / int64(w.tick) }

func (w *wheel) add(p *pending) {
	w.mu.Lock()
	t := w.deadlineTick(p.deadline)
	if t <= w.curTick {
		t = w.curTick + 1
	}
	p.tick = t
	s := &w.slots[t%wheelSlots]
	p.prev, p.next = nil, *s
	if *s != nil {
		(*s).prev = p
	}
	*s = p
	p.inWheel = true
	w.count++
	first := w.count == 1
	w.mu.Unlock()
	if first {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *wheel) remove(p *pending) {
	w.mu.Lock()
	w.unlink(p)
	w.mu.Unlock()
}

func (w *wheel) unlink(p *pending) {
	if !p.inWheel {
		return
	}
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		w.slots[p.tick%wheelSlots] = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	}
	p.prev, p.next, p.inWheel = nil, nil, false
	w.count--
}

func (w *wheel) close() {
	close(w.stop)
	<-w.done
}

func (w *wheel) run() {
	defer close(w.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var expired []expiry
	for {
		w.mu.Lock()
		idle := w.count == 0
		w.mu.Unlock()
		if idle {
			select {
			case <-w.stop:
				return
			case <-w.wake:
				continue
			}
		}
		t.Reset(w.tick)
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		now := w.nowTick()
		w.mu.Lock()
		// A long pause (GC, suspended VM) may skip many ticks; one lap covers every slot.
		if now-w.curTick > wheelSlots {
			w.curTick = now - wheelSlots
		}
		for w.curTick < now {
			w.curTick++
			for p := w.slots[w.curTick%wheelSlots]; p != nil; {
				next := p.next
				if p.tick <= now {
					w.unlink(p)
					expired = append(expired, expiry{p, p.conn, p.opaque})
				}
				p = next
			}
		}
		w.mu.Unlock()
		for i, e := range expired {
			w.expire(e)
			expired[i] = expiry{}
		}
		expired = expired[:0]
	}
}
