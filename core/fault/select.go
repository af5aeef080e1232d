package fault

import (
	"sync/atomic"

	"github.com/rocketsend/rocketsend/core/message"
)

// SelectOneMessageQueue picks the queue for one send attempt from queues (a topic's publish queues,
// in route order), advancing counter, the topic's round-robin position, which the caller keeps per
// topic (nil uses one counter inside the Strategy). lastBrokerName is the broker of the previous
// attempt of the same send ("" on the first attempt). It returns the zero MessageQueue only when
// queues is empty.
//
// Each pass below walks the queues round robin from the counter and takes the first queue its filter
// keeps; the counter advances once per queue looked at, as Java's, so skipped queues do not make
// the queue after them more likely. The first pass that finds a queue wins.
//
// Enabled (Java 5.x MQFaultStrategy.selectOneMessageQueue, then two passes of our own):
//  1. broker available (not isolated) and not lastBrokerName;
//  2. broker reachable and not lastBrokerName: another broker, even isolated, beats retrying the
//     one that just failed;
//  3. broker available, lastBrokerName allowed;
//  4. broker reachable, lastBrokerName allowed;
//  5. plain round robin.
//
// Java goes from pass 2 straight to pass 5. Passes 3 and 4 only matter when every other broker is
// both isolated and unreachable (or the topic lives on one broker); Java then picks blindly, we
// prefer a usable broker. They replace 4.x's pickOneAtLeast fallback: at that point the only
// reachable broker among the queues can be lastBrokerName, so pickOneAtLeast would name it (or a
// broker outside the topic) at random, and pass 4 does the same deterministically.
//
// Disabled (Java's TopicPublishInfo.selectOneMessageQueue with a broker filter):
//  1. broker not lastBrokerName;
//  2. plain round robin.
func (s *Strategy) SelectOneMessageQueue(queues []message.MessageQueue, counter *atomic.Uint32, lastBrokerName string) message.MessageQueue {
	if len(queues) == 0 {
		return message.MessageQueue{}
	}
	if counter == nil {
		counter = &s.counter
	}
	notLast := func(q message.MessageQueue) bool {
		return lastBrokerName == "" || q.BrokerName != lastBrokerName
	}

	if !s.Enabled() {
		if q, ok := roundRobin(queues, counter, notLast); ok {
			return q
		}
		return next(queues, counter)
	}

	t := s.tolerance
	available := func(q message.MessageQueue) bool { return t.IsAvailable(q.BrokerName) }
	reachable := func(q message.MessageQueue) bool { return t.IsReachable(q.BrokerName) }
	passes := [...]func(message.MessageQueue) bool{
		func(q message.MessageQueue) bool { return available(q) && notLast(q) },
		func(q message.MessageQueue) bool { return reachable(q) && notLast(q) },
		available,
		reachable,
	}
	for _, keep := range passes {
		if q, ok := roundRobin(queues, counter, keep); ok {
			return q
		}
	}
	return next(queues, counter)
}

// roundRobin looks at up to len(queues) queues from the counter on and returns the first one keep
// accepts.
func roundRobin(queues []message.MessageQueue, counter *atomic.Uint32, keep func(message.MessageQueue) bool) (message.MessageQueue, bool) {
	for range queues {
		if q := next(queues, counter); keep(q) {
			return q, true
		}
	}
	return message.MessageQueue{}, false
}

// next advances the counter and returns the queue it lands on.
func next(queues []message.MessageQueue, counter *atomic.Uint32) message.MessageQueue {
	return queues[counter.Add(1)%uint32(len(queues))]
}
