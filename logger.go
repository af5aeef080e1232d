package rocketsend

import (
	"context"
	"log/slog"
	"os"
	"slices"

	"github.com/hashicorp/go-hclog"
)

// One logger for the whole process. The core (core/send, core/route, core/remote) logs through
// log/slog so that a service embedding only the producer needs no logging library; the plugins
// and this package log through go-hclog. The logger given to New (WithLogger) is the one switch:
// the core's records reach it through slogToHCLog under the name "producer", the plugins' under
// "plugin.<block>", reloads under its own name.

// topLogger is the producer's one logger: the caller's (WithLogger), at the file's log_level when it
// sets one; else stderr at the file's level when it sets one; else nothing.
func topLogger(given hclog.Logger, level string) hclog.Logger {
	switch {
	case given != nil:
		if level != "" {
			given.SetLevel(hclog.LevelFromString(level))
		}
		return given
	case level != "" && level != "off":
		return hclog.New(&hclog.LoggerOptions{Name: "rocketsend", Level: hclog.LevelFromString(level), Output: os.Stderr})
	}
	return hclog.NewNullLogger()
}

// slogToHCLog is a slog.Handler writing to an hclog.Logger: levels map one to one (slog's levels
// between the named ones round down), attributes become hclog's key/value pairs, groups prefix
// their keys with "group.".
type slogToHCLog struct {
	log    hclog.Logger
	attrs  []any  // key/value pairs from WithAttrs
	prefix string // the open groups, "a.b."
}

func newCoreLogger(l hclog.Logger) *slog.Logger { return slog.New(&slogToHCLog{log: l}) }

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelDebug:
		return hclog.Trace
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	}
	return hclog.Error
}

func (h *slogToHCLog) Enabled(_ context.Context, l slog.Level) bool {
	switch hclogLevel(l) {
	case hclog.Trace:
		return h.log.IsTrace()
	case hclog.Debug:
		return h.log.IsDebug()
	case hclog.Info:
		return h.log.IsInfo()
	case hclog.Warn:
		return h.log.IsWarn()
	}
	return h.log.IsError()
}

func (h *slogToHCLog) Handle(_ context.Context, r slog.Record) error {
	args := slices.Clip(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		args = appendAttr(args, h.prefix, a)
		return true
	})
	h.log.Log(hclogLevel(r.Level), r.Message, args...)
	return nil
}

func appendAttr(args []any, prefix string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range v.Group() {
			args = appendAttr(args, p, ga)
		}
		return args
	}
	if a.Key == "" {
		return args
	}
	return append(args, prefix+a.Key, v.Any())
}

func (h *slogToHCLog) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = slices.Clip(h.attrs)
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return &n
}

func (h *slogToHCLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix += name + "."
	return &n
}
