package host

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// filter decides which calls reach a plugin: the hook points in use and the topics. Both the
// plugin (HookInfo: its points and topics) and the host's configuration (WithPoints, WithTopics)
// narrow it; a call goes through only when both allow it. It is the one filter of the host: the
// send hooks, the selector and Set all ask it.
type filter struct {
	points []hookv1.HookPoint // nil: every point the plugin declares; else a subset of them
	topics []string           // nil: every topic
	info   []string           // the topics the plugin declares (nil: every topic)
}

// bind checks the configured points against what the plugin declares and completes the filter.
func (f *filter) bind(info hookv1.HookInfo) error {
	if f.points != nil {
		var missing []string
		for _, pt := range f.points {
			if !info.Has(pt) {
				missing = append(missing, PointName(pt))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("hook points %s are configured but the plugin does not declare them (it declares %s)",
				strings.Join(missing, ", "), pointList(info.Points))
		}
	} else {
		f.points = slices.Clone(info.Points)
	}
	f.info = info.Topics
	return nil
}

// has reports whether point is in use.
func (f *filter) has(point hookv1.HookPoint) bool { return slices.Contains(f.points, point) }

// wants reports whether a call of point for topic (without the namespace: the producer gives
// hooks and selectors the topic as the user named it) goes to the plugin.
func (f *filter) wants(point hookv1.HookPoint, topic string) bool {
	if !f.has(point) {
		return false
	}
	if len(f.info) > 0 && !slices.Contains(f.info, topic) {
		return false
	}
	return len(f.topics) == 0 || slices.Contains(f.topics, topic)
}

// PointName is the name of a hook point in errors and logs: BEFORE_SEND, AFTER_SEND,
// CHECK_FORBIDDEN, SELECT_QUEUE.
func PointName(p hookv1.HookPoint) string {
	switch p {
	case hookv1.PointBeforeSend:
		return "BEFORE_SEND"
	case hookv1.PointAfterSend:
		return "AFTER_SEND"
	case hookv1.PointCheckForbidden:
		return "CHECK_FORBIDDEN"
	case hookv1.PointSelectQueue:
		return "SELECT_QUEUE"
	}
	return "load"
}

func pointList(ps []hookv1.HookPoint) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = PointName(p)
	}
	return strings.Join(s, ", ")
}
