package main

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Key sources (setting "source").
const (
	sourceAuto = "auto" // the select arg when the send has one, else the first key
	sourceArg  = "arg"  // the select arg only
	sourceKeys = "keys" // the first key only
)

type config struct{ source string }

func parseConfig(c hookv1.HookConfig) (config, error) {
	cfg := config{source: sourceAuto}
	for _, kv := range c.Settings {
		switch kv.Key {
		case "source":
			switch kv.Value {
			case sourceAuto, sourceArg, sourceKeys:
				cfg.source = kv.Value
			default:
				return cfg, fmt.Errorf("keyhash: source %q: want auto, arg or keys", kv.Value)
			}
		default:
			return cfg, fmt.Errorf("keyhash: unknown setting %q", kv.Key)
		}
	}
	return cfg, nil
}

// javaHashCode is Java's String.hashCode of the UTF-8 text s: s[0]*31^(n-1) + ... + s[n-1] over its
// UTF-16 code units, in int32 arithmetic (invalid UTF-8 counts as U+FFFD, as Java decodes it).
func javaHashCode(s []byte) int32 {
	var h int32
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		s = s[size:]
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + r1
			h = 31*h + r2
			continue
		}
		h = 31*h + r
	}
	return h
}

// queueIndex is RocketMQ's SelectMessageQueueByHash: value = hash % n; if value < 0, value = -value.
func queueIndex(key []byte, n uint32) int32 {
	value := javaHashCode(key) % int32(n)
	if value < 0 {
		value = -value
	}
	return value
}

// firstKey returns the first of the space-separated keys.
func firstKey(keys []byte) []byte {
	keys = bytes.TrimLeft(keys, " ")
	if i := bytes.IndexByte(keys, ' '); i >= 0 {
		keys = keys[:i]
	}
	return keys
}

// selectQueue picks the queue by the hash of the key; with no key or no queues it makes no choice.
func (c *config) selectQueue(v *hookv1.View, d *hookv1.DecisionBuilder) error {
	n := v.QueueCount()
	if n == 0 {
		return nil
	}
	var key []byte
	arg, hasArg := v.SelectArg()
	switch {
	case c.source != sourceKeys && hasArg:
		key = arg
	case c.source != sourceArg:
		key = firstKey(v.Keys())
		if len(key) == 0 {
			return nil
		}
	default:
		return nil
	}
	d.SelectQueue(queueIndex(key, n))
	return nil
}
