package trace

import (
	"context"
	"strings"

	"github.com/rocketsend/rocketsend/core/message"
)

// encoder builds the trace messages of one flush; it is owned by the background goroutine and
// reuses its buffers across flushes.
type encoder struct {
	topics []string
	data   []byte
	keys   []string
	seen   map[string]struct{}
}

// flush sends batch as Java's AsyncTraceDispatcher does: one message per traced topic (records
// of a topic in their order), split when the body would pass the size bound, the ids and keys of
// the traced messages as the trace message's keys.
func (t *Tracer) flush(e *encoder, batch []record) {
	e.topics = e.topics[:0]
	for i := range batch {
		if !contains(e.topics, batch[i].topic) {
			e.topics = append(e.topics, batch[i].topic)
		}
	}
	for _, topic := range e.topics {
		e.reset()
		n := 0
		for i := range batch {
			r := &batch[i]
			if r.topic != topic {
				continue
			}
			mark := len(e.data)
			e.data = r.appendTo(e.data)
			if n > 0 && len(e.data) > t.cfg.maxMsgSize {
				// Too big with r: send what came before it and start again with r.
				rest := append([]byte(nil), e.data[mark:]...)
				e.data = e.data[:mark]
				t.send(e, n)
				e.reset()
				e.data = append(e.data, rest...)
				n = 0
			}
			r.transKeys(e.addKey)
			n++
		}
		if n > 0 {
			t.send(e, n)
		}
	}
}

func (e *encoder) reset() {
	e.data = e.data[:0]
	e.keys = e.keys[:0]
	if e.seen == nil {
		e.seen = make(map[string]struct{})
	}
	clear(e.seen)
}

func (e *encoder) addKey(k string) {
	if _, dup := e.seen[k]; dup {
		return
	}
	e.seen[k] = struct{}{}
	e.keys = append(e.keys, k)
}

// send sends the n records encoded in e as one trace message, waiting for an in-flight slot
// (the buffer absorbs records meanwhile).
func (t *Tracer) send(e *encoder, n int) {
	msg := message.New(t.cfg.topic, append([]byte(nil), e.data...))
	if len(e.keys) > 0 {
		msg.SetSystemProperty(message.PropertyKeys, strings.Join(e.keys, message.KeySeparator))
	}
	t.slots <- struct{}{}
	t.inflight.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.sendTimeout)
	done := func(_ *message.SendResult, err error) {
		cancel()
		if err != nil {
			t.failed.Add(uint64(n))
			t.cfg.logger.Warn("trace: sending trace records failed", "topic", t.cfg.topic, "records", n, "err", err)
		} else {
			t.sent.Add(uint64(n))
			t.messages.Add(1)
		}
		<-t.slots
		t.inflight.Done()
	}
	if err := t.sender.SendAsync(ctx, msg, done); err != nil {
		done(nil, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
