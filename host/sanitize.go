package host

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
)

// Guest text (a plugin's self-declared name, its version, its error texts, the reason of a FORBID,
// its log lines, stdout and stderr) is written by the plugin, so it must not be able to forge log
// records or terminal output in the host: a newline would start a record of its own, an ESC
// sequence would repaint the operator's terminal. Every such text goes through sanitize on its way
// to a log or an error, and every guest log line through one rate limiter per plugin, wasm and
// process alike.

// maxNameLen caps a plugin's self-declared name.
const maxNameLen = 128

// sanitize makes guest text safe to log or to put in an error: valid UTF-8, control characters
// (C0, DEL, C1 and the Unicode format characters that reorder text, such as U+202E) escaped as
// \xNN or \u{NNNN}, at most maxLogLen bytes.
func sanitize(s string) string { return sanitizeN(s, maxLogLen) }

// sanitizeName is sanitize for a plugin's name, capped at maxNameLen.
func sanitizeName(s string) string { return sanitizeN(s, maxNameLen) }

func sanitizeN(s string, n int) string {
	s = clip(s, n)
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 && r != '\t' || r == 0x7f:
			fmt.Fprintf(&sb, "\\x%02x", r)
		case r >= 0x80 && r < 0xa0, r != '\uFFFD' && unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&sb, "\\u{%04x}", r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// clip cuts s to n bytes (on a rune boundary) and marks the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// logLimiter caps the guest log records of one plugin at logsPerSecond; the first record let
// through after records were dropped is preceded by one saying how many.
type logLimiter struct {
	window, count, dropped atomic.Int64
}

// allow reports whether one more record may be logged now, and how many were dropped before it
// (to be reported once).
func (l *logLimiter) allow() (ok bool, droppedBefore int64) {
	now := time.Now().Unix()
	if w := l.window.Load(); w != now && l.window.CompareAndSwap(w, now) {
		l.count.Store(0)
	}
	if l.count.Add(1) > logsPerSecond {
		l.dropped.Add(1)
		return false, 0
	}
	return true, l.dropped.Swap(0)
}

// guestLog logs one guest record through lim: msg sanitized, rate limited.
func guestLog(log hclog.Logger, lim *logLimiter, level hclog.Level, msg string, args ...any) {
	if !enabled(log, level) {
		return
	}
	ok, dropped := lim.allow()
	if !ok {
		return
	}
	if dropped > 0 {
		log.Warn("plugin log records dropped by the rate limit", "dropped", dropped, "limit_per_second", logsPerSecond)
	}
	log.Log(level, sanitize(msg), args...)
}

// guardedLogger is the logger go-plugin gets for a process plugin: go-plugin logs the plugin's
// stderr through it, its JSON log records at their own level (message and fields written by the
// plugin) and other lines at debug. Every record goes through the plugin's rate limiter, with its
// message, its string fields and the logger names sanitized. Records of the host's own (go-plugin's
// "starting plugin" and so on) take the same path: they are few.
type guardedLogger struct {
	hclog.Logger
	lim *logLimiter
}

func (g guardedLogger) Log(level hclog.Level, msg string, args ...any) {
	for i := range args {
		switch a := args[i].(type) {
		case string:
			args[i] = sanitize(a)
		case error:
			args[i] = sanitize(a.Error())
		}
	}
	guestLog(g.Logger, g.lim, level, msg, args...)
}

func (g guardedLogger) Trace(msg string, args ...any) { g.Log(hclog.Trace, msg, args...) }
func (g guardedLogger) Debug(msg string, args ...any) { g.Log(hclog.Debug, msg, args...) }
func (g guardedLogger) Info(msg string, args ...any)  { g.Log(hclog.Info, msg, args...) }
func (g guardedLogger) Warn(msg string, args ...any)  { g.Log(hclog.Warn, msg, args...) }
func (g guardedLogger) Error(msg string, args ...any) { g.Log(hclog.Error, msg, args...) }

func (g guardedLogger) Named(name string) hclog.Logger {
	return guardedLogger{g.Logger.Named(sanitizeName(name)), g.lim}
}

func (g guardedLogger) ResetNamed(name string) hclog.Logger {
	return guardedLogger{g.Logger.ResetNamed(sanitizeName(name)), g.lim}
}

func (g guardedLogger) With(args ...any) hclog.Logger {
	return guardedLogger{g.Logger.With(args...), g.lim}
}

// safeError is an error whose text carries guest text: sanitized, still unwrapping to the original.
type safeError struct {
	text string
	err  error
}

func (e safeError) Error() string { return e.text }
func (e safeError) Unwrap() error { return e.err }
