package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

type policy struct {
	denyTopics  []string
	denyTags    []string
	requireKeys bool
}

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func parseConfig(c hookv1.HookConfig) (policy, error) {
	var p policy
	for _, kv := range c.Settings {
		switch kv.Key {
		case "deny_topics":
			p.denyTopics = splitList(kv.Value)
		case "deny_tags":
			p.denyTags = splitList(kv.Value)
		case "require_keys":
			b, err := strconv.ParseBool(kv.Value)
			if err != nil {
				return p, fmt.Errorf("policy: require_keys %q: want true or false", kv.Value)
			}
			p.requireKeys = b
		default:
			return p, fmt.Errorf("policy: unknown setting %q", kv.Key)
		}
	}
	return p, nil
}

// topic returns the view's topic: the host gives it without the producer's namespace.
func topic(v *hookv1.View) []byte { return v.Topic() }

func contains(list []string, s []byte) bool {
	for _, e := range list {
		if string(s) == e {
			return true
		}
	}
	return false
}

// check forbids the send when its topic or one of its tags ("a||b") is denied, or when keys are
// required and missing.
func (p *policy) check(v *hookv1.View, d *hookv1.DecisionBuilder) error {
	if t := topic(v); contains(p.denyTopics, t) {
		d.Forbid("topic " + strconv.Quote(string(t)) + " is denied by policy")
		return nil
	}
	if len(p.denyTags) > 0 {
		tags := v.Tags()
		for len(tags) > 0 {
			tag := tags
			if i := bytes.Index(tags, []byte("||")); i >= 0 {
				tag, tags = tags[:i], tags[i+2:]
			} else {
				tags = nil
			}
			if tag = bytes.TrimSpace(tag); contains(p.denyTags, tag) {
				d.Forbid("tag " + strconv.Quote(string(tag)) + " is denied by policy")
				return nil
			}
		}
	}
	if p.requireKeys && len(bytes.TrimSpace(v.Keys())) == 0 {
		d.Forbid("message KEYS are required by policy")
	}
	return nil
}
