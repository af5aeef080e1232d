package send

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rocketsend/rocketsend/core/message"
)

// PropertyClientGoShardingKey is the property in which rocketmq-client-go v2 keeps a message's
// sharding key (its Message.WithShardingKey). Its hash selector reads the key from there, and so
// does HashFNV when the send passes no arg. (Java and the 5.x brokers use
// message.PropertyShardingKey, "__SHARDINGKEY", a different property.)
const PropertyClientGoShardingKey = "SHARDING_KEY"

var (
	// ErrEmptyQueues is wrapped by a built-in selector's error when it is given no queue.
	ErrEmptyQueues = errors.New("no queue to select from")
	// ErrNoShardingKey is wrapped by a hash selector's error when the send gave it no key.
	ErrNoShardingKey = errors.New("hash selector needs a key: pass the sharding key (an order id, a message group) as the selector arg")
)

// RoundRobin returns a selector that cycles through the queues, one after the other, from the
// first: the spreading selector for messages that need no ordering. Its counter is shared by every
// caller of the instance (safe for concurrent use); give each topic its own through
// RoundRobinFactory so that one topic's traffic does not skew another's.
//
// It opts in to retries (RetryReselect): a retry takes the next queue among those of the other
// brokers, as a send without a selector does.
func RoundRobin() QueueSelector { return new(roundRobinSelector) }

// RoundRobinFactory returns a SelectorFactory that gives each topic its own RoundRobin selector,
// like Java's per-topic TopicPublishInfo index.
func RoundRobinFactory() SelectorFactory {
	return SelectorFactoryFunc(func(string) QueueSelector { return RoundRobin() })
}

type roundRobinSelector struct{ next atomic.Uint64 }

func (s *roundRobinSelector) Select(_ *message.Message, queues []message.MessageQueue, _ any) (message.MessageQueue, error) {
	if len(queues) == 0 {
		return message.MessageQueue{}, noQueues("RoundRobin")
	}
	i := s.next.Add(1) - 1
	return queues[i%uint64(len(queues))], nil
}

// Consistent implements ConsistentSelector: the choice is not tied to the message.
func (*roundRobinSelector) Consistent() bool { return false }

// SelectorRetry implements RetryingSelector: order does not matter, so a retry goes elsewhere.
func (*roundRobinSelector) SelectorRetry() SelectorRetry { return RetryReselect }

// Random returns a selector that picks a queue uniformly at random (math/rand/v2, safe for
// concurrent use, no shared lock): Java's SelectMessageQueueByRandom and client-go's random
// selector. Use it to spread messages that need no ordering when one instance serves many
// producers and a shared round-robin counter would be contended.
func Random() QueueSelector { return randomSelector{} }

type randomSelector struct{}

func (randomSelector) Select(_ *message.Message, queues []message.MessageQueue, _ any) (message.MessageQueue, error) {
	if len(queues) == 0 {
		return message.MessageQueue{}, noQueues("Random")
	}
	return queues[rand.IntN(len(queues))], nil
}

// Consistent implements ConsistentSelector: the choice is not tied to the message.
func (randomSelector) Consistent() bool { return false }

// SelectorRetry implements RetryingSelector: order does not matter, so a retry goes elsewhere.
func (randomSelector) SelectorRetry() SelectorRetry { return RetryReselect }

// HashJava returns a selector that puts every message of a key on the same queue exactly as Java's
// SelectMessageQueueByHash does:
//
//	value = arg.hashCode() % len(queues); if value < 0 { value = abs(value) }
//
// with Java's hashCode of the send's arg (see JavaHashCode): a string hashes like
// java.lang.String, an int32 like Integer, an int64 like Long, a bool like Boolean. So a Go
// producer and a Java producer that pass the same key, over the same queue list (both order it by
// broker name, then queue id), pick the same queue, and mixed fleets keep per-key order. Use it for
// ordered (FIFO) messages next to Java producers; pass the key as the arg. A nil arg, or an arg of
// a type Java has no fixed hashCode for, is an error.
//
// It keeps its choice on retry, as ordering requires.
func HashJava() QueueSelector { return javaHashSelector{} }

type javaHashSelector struct{}

func (javaHashSelector) Select(_ *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if len(queues) == 0 {
		return message.MessageQueue{}, noQueues("HashJava")
	}
	if arg == nil {
		return message.MessageQueue{}, fmt.Errorf("send: HashJava: %w", ErrNoShardingKey)
	}
	h, err := JavaHashCode(arg)
	if err != nil {
		return message.MessageQueue{}, fmt.Errorf("send: HashJava: %w", err)
	}
	return queues[javaHashIndex(h, len(queues))], nil
}

// Consistent implements ConsistentSelector: the queue depends only on the key. A failed attempt
// is not retried (RetryNever) unless wrapped with WithRetry.
func (javaHashSelector) Consistent() bool { return true }

// javaHashIndex is SelectMessageQueueByHash's index: Java's int remainder (truncated, sign of the
// dividend), made non-negative with Math.abs.
func javaHashIndex(h int32, n int) int {
	v := int64(h) % int64(n)
	if v < 0 {
		v = -v
	}
	return int(v)
}

// JavaHasher is implemented by values that know their Java hashCode, to use HashJava with a key
// type JavaHashCode does not cover (a Java record or enum the Java producers pass, say).
type JavaHasher interface {
	JavaHashCode() int32
}

// JavaHashCode returns the hashCode Java computes for the equivalent boxed value:
//
//   - string: String.hashCode (see JavaStringHashCode);
//   - int32 (rune), int16, int8: Integer/Short/Byte.hashCode, the value;
//   - int: as int32 (Integer) when it fits, otherwise as int64 (Long);
//   - int64: Long.hashCode, int32(v ^ v>>>32);
//   - uint16: Character.hashCode, the value;
//   - bool: Boolean.hashCode, 1231 for true and 1237 for false;
//   - float32, float64: Float/Double.hashCode over the canonical (NaN-collapsed) bits;
//   - a JavaHasher: its JavaHashCode.
//
// Any other type is an error: Java's hashCode of arrays and most objects is their identity,
// which no other process can reproduce.
func JavaHashCode(v any) (int32, error) {
	switch x := v.(type) {
	case string:
		return JavaStringHashCode(x), nil
	case int32:
		return x, nil
	case int16:
		return int32(x), nil
	case int8:
		return int32(x), nil
	case uint16:
		return int32(x), nil
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int32(x), nil
		}
		return javaLongHash(int64(x)), nil
	case int64:
		return javaLongHash(x), nil
	case bool:
		if x {
			return 1231, nil
		}
		return 1237, nil
	case float64:
		bits := math.Float64bits(x)
		if x != x { // Double.doubleToLongBits collapses every NaN to one
			bits = 0x7ff8000000000000
		}
		return javaLongHash(int64(bits)), nil
	case float32:
		bits := math.Float32bits(x)
		if x != x {
			bits = 0x7fc00000
		}
		return int32(bits), nil
	case JavaHasher:
		return x.JavaHashCode(), nil
	case nil:
		return 0, ErrNoShardingKey
	}
	return 0, fmt.Errorf("no Java hashCode for a %T key: pass a string, a signed integer, a bool, a float, or a JavaHasher", v)
}

// javaLongHash is Long.hashCode: (int)(v ^ (v >>> 32)).
func javaLongHash(v int64) int32 {
	u := uint64(v)
	return int32(uint32(u ^ u>>32))
}

// JavaStringHashCode returns Java's String.hashCode of s: s[0]*31^(n-1) + ... + s[n-1] over the
// UTF-16 code units of s, in int32 arithmetic that wraps on overflow. Characters outside the Basic
// Multilingual Plane count as their two surrogates, and each invalid UTF-8 byte as U+FFFD, as Java
// decodes it.
func JavaStringHashCode(s string) int32 {
	var h int32
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = 31*h + int32(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			h = 31*h + (0xD800 + (r>>10)&0x3FF)
			h = 31*h + (0xDC00 + r&0x3FF)
			continue
		}
		h = 31*h + r
	}
	return h
}

// HashFNV returns a selector that computes what rocketmq-client-go v2's hash selector
// (producer.NewHashQueueSelector) computes: the 32-bit FNV-1a hash of the key's bytes, modulo the
// number of queues (the hash taken as unsigned, as client-go does on 64-bit platforms). A Go
// producer migrating from client-go keeps its keys on the same queues, given the same queue list
// (both order it by broker name, then queue id).
//
// The key is the send's arg, a string or []byte; with a nil arg it is the message's
// PropertyClientGoShardingKey property, where client-go's Message.WithShardingKey puts it. With
// neither it is an error (client-go would silently pick a random queue and lose the ordering).
//
// It keeps its choice on retry, as ordering requires.
func HashFNV() QueueSelector { return fnvSelector{} }

type fnvSelector struct{}

func (fnvSelector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if len(queues) == 0 {
		return message.MessageQueue{}, noQueues("HashFNV")
	}
	var h uint32
	switch k := arg.(type) {
	case string:
		h = fnv1a32(k)
	case []byte:
		h = fnv1a32(k)
	case nil:
		var key string
		if msg != nil {
			key = msg.Property(PropertyClientGoShardingKey)
		}
		if key == "" {
			return message.MessageQueue{}, fmt.Errorf("send: HashFNV: %w (or set the message's %s property, as client-go's WithShardingKey does)",
				ErrNoShardingKey, PropertyClientGoShardingKey)
		}
		h = fnv1a32(key)
	default:
		return message.MessageQueue{}, fmt.Errorf("send: HashFNV: the key must be a string or []byte, not %T", arg)
	}
	return queues[uint64(h)%uint64(len(queues))], nil
}

// Consistent implements ConsistentSelector: the queue depends only on the key. A failed attempt
// is not retried (RetryNever) unless wrapped with WithRetry.
func (fnvSelector) Consistent() bool { return true }

// fnv1a32 is FNV-1a, 32 bits (hash/fnv.New32a without the allocation).
func fnv1a32[T ~string | ~[]byte](p T) uint32 {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(p); i++ {
		h ^= uint32(p[i])
		h *= prime32
	}
	return h
}

// HashSipHash returns a selector that maps a key to a queue as the RocketMQ 5 clients map a FIFO
// message group (Java PublishingLoadBalancer.takeMessageQueueByMessageGroup, Go
// publishingLoadBalancer.TakeMessageQueueByMessageGroup): SipHash-2-4 of the key's bytes (a
// string's UTF-8) with Guava's default sipHash24() keys k0 = 0x0706050403020100 and
// k1 = 0x0f0e0d0c0b0a0908, read as a signed 64-bit integer, and its floor modulo (never negative,
// Guava LongMath.mod) the number of queues. A rocketsend producer and v5 producers therefore put a
// message group on the same queue, given the same queue list.
//
// The key is the send's arg, a string or []byte; with a nil arg it is the message's
// message.PropertyShardingKey ("__SHARDINGKEY"), the property a 5.x proxy stores the message group
// in. With neither it is an error.
//
// It keeps its choice on retry, as ordering requires.
func HashSipHash() QueueSelector { return sipHashSelector{} }

// Guava Hashing.sipHash24()'s default key, the bytes 00..0f read little-endian: also the key of
// the SipHash paper's test vectors.
const (
	sipK0 = 0x0706050403020100
	sipK1 = 0x0f0e0d0c0b0a0908
)

type sipHashSelector struct{}

func (sipHashSelector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if len(queues) == 0 {
		return message.MessageQueue{}, noQueues("HashSipHash")
	}
	var h uint64
	switch k := arg.(type) {
	case string:
		h = sipHash24(sipK0, sipK1, k)
	case []byte:
		h = sipHash24(sipK0, sipK1, k)
	case nil:
		var key string
		if msg != nil {
			key = msg.Property(message.PropertyShardingKey)
		}
		if key == "" {
			return message.MessageQueue{}, fmt.Errorf("send: HashSipHash: %w (or set the message's %s property, the message group)",
				ErrNoShardingKey, message.PropertyShardingKey)
		}
		h = sipHash24(sipK0, sipK1, key)
	default:
		return message.MessageQueue{}, fmt.Errorf("send: HashSipHash: the key must be a string or []byte, not %T", arg)
	}
	return queues[floorMod(int64(h), len(queues))], nil
}

// Consistent implements ConsistentSelector: the queue depends only on the key. A failed attempt
// is not retried (RetryNever) unless wrapped with WithRetry.
func (sipHashSelector) Consistent() bool { return true }

// floorMod is Guava's LongMath.mod(x, m) for m > 0: the remainder in [0, m).
func floorMod(x int64, m int) int {
	r := x % int64(m)
	if r < 0 {
		r += int64(m)
	}
	return int(r)
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) with the 128-bit key k0 || k1, each the
// little-endian reading of 8 key bytes.
func sipHash24[T ~string | ~[]byte](k0, k1 uint64, p T) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	round := func() {
		v0 += v1
		v1 = v1<<13 | v1>>(64-13)
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>(64-16)
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>(64-21)
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>(64-17)
		v1 ^= v2
		v2 = v2<<32 | v2>>32
	}

	n := len(p)
	i := 0
	for ; i+8 <= n; i += 8 {
		m := uint64(p[i]) | uint64(p[i+1])<<8 | uint64(p[i+2])<<16 | uint64(p[i+3])<<24 |
			uint64(p[i+4])<<32 | uint64(p[i+5])<<40 | uint64(p[i+6])<<48 | uint64(p[i+7])<<56
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	// Last block: the remaining 0..7 bytes, and the message length (mod 256) in the top byte.
	b := uint64(n) << 56
	for j := 0; i+j < n; j++ {
		b |= uint64(p[i+j]) << (8 * j)
	}
	v3 ^= b
	round()
	round()
	v0 ^= b

	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

func noQueues(selector string) error {
	return fmt.Errorf("send: %s: %w", selector, ErrEmptyQueues)
}
