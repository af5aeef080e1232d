// Package config reads rocketsend's configuration file: HCL (hashicorp/hcl/v2) declaring the
// producer's settings and the plugins to load into its send pipeline. docs/config.md is the
// reference; config/testdata/example.hcl is a complete example that the tests load.
//
// Every problem of a file is reported at once, each pointing at its file:line:column and saying
// what was expected; Load never returns a half-read configuration.
package config

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// File is one configuration file, decoded and checked.
type File struct {
	// Path is the file it was read from ("" when parsed from memory without a name).
	Path string
	// Producer holds the producer block's settings.
	Producer Producer
	// CacheDir is the directory of the wasm compilation cache: "" means the default
	// (os.UserCacheDir()/rocketsend/wasm), "off" disables it.
	CacheDir string
	// LogLevel is the level of the producer's logger ("" = not set): every log line of the
	// process, core and plugins, goes through that one logger. See LogLevels.
	LogLevel string
	// Plugins are the plugin blocks, ordered by Order, then as they appear in the file: the order
	// in which their hooks run.
	Plugins []Plugin
}

// Producer is the producer block. Zero values mean "not set": send's defaults apply.
type Producer struct {
	NameServers           []string
	Group                 string
	InstanceName          string
	UnitName              string
	Namespace             string
	SendTimeout           time.Duration
	Retries               *int
	AsyncRetries          *int
	RetryAnotherBroker    bool
	MaxMessageSize        int
	DefaultTopicQueueNums int
	HeartbeatInterval     time.Duration
	RoutePollInterval     time.Duration
	DialTimeout           time.Duration
	TimerResolution       time.Duration
	VIPChannel            bool
	FaultTolerance        bool
	CallbackWorkers       int
	AutoBatch             bool
	BatchMaxDelay         time.Duration
	BatchMaxBytes         int
	TotalBatchMaxBytes    int
	CreateTopicKey        string
	ClientIP              string
	UnitMode              bool
	LatencyMax            []time.Duration
	NotAvailableDuration  []time.Duration
	Serialize             *codec.SerializeType
	Compression           *Compression
	Backpressure          *Backpressure
	Credentials           *send.Credentials
	TLS                   *tls.Config

	// fingerprint is the block's source text: a reload compares it to tell whether settings
	// that only apply at start changed.
	fingerprint string
}

// Compression is the compression block.
type Compression struct {
	Threshold int
	Type      codec.CompressionType
	Level     int
}

// Backpressure is the backpressure block: bounds of async sends in flight.
type Backpressure struct {
	MaxMessages int
	MaxBytes    int64
	Block       bool
}

// LogLevels are the values of log_level, from the most verbose; "off" logs nothing.
var LogLevels = map[string]struct{}{"trace": {}, "debug": {}, "info": {}, "warn": {}, "error": {}, "off": {}}

// Kind is the back end a plugin runs on.
type Kind string

// The plugin kinds.
const (
	KindWasm    Kind = "wasm"    // a WebAssembly module (ABI v1, docs/abi.md) run on wazero
	KindProcess Kind = "process" // a separate process speaking gRPC through hashicorp/go-plugin
)

// Plugin is one plugin block.
type Plugin struct {
	// Name is the block's label: unique in the file, used in logs, errors and tables.
	Name string
	Kind Kind
	// Path is the module or executable, resolved against the config file's directory.
	Path string
	// SHA256 is the expected hex SHA-256 of the file at Path ("" = not checked).
	SHA256 string
	// Args are the process's arguments (kind "process" only).
	Args []string
	// Hooks restricts the hook points used to these; nil means every point the plugin declares.
	Hooks []hookv1.HookPoint
	// Order sorts plugins (lower first; equal orders keep file order).
	Order int
	// Topics limits the plugin to these topics (without namespace), on top of what the plugin
	// declares itself; nil means every topic.
	Topics []string
	// FailurePolicy overrides the failure policy per hook point.
	FailurePolicy map[hookv1.HookPoint]hookv1.FailurePolicy
	// Timeout is the per-call deadline (0: none, the guest is trusted).
	Timeout time.Duration
	// MemoryLimit caps one instance's memory, in bytes (0: the host's default, 64 MiB).
	MemoryLimit int64
	// PoolSize caps the plugin's instances (0: the host's default, GOMAXPROCS).
	PoolSize int
	// Config is the opaque text passed to the plugin's init; Settings the key/value pairs.
	Config   []byte
	Settings []hookv1.KV
	// Env are the environment variables granted, with their values; Dirs the directories.
	Env  []hookv1.KV
	Dirs []Dir

	// Pos is where the block starts ("file:line"), for errors found when loading the plugin.
	Pos string
}

// Dir is a read-only directory granted to a plugin.
type Dir struct {
	Host  string // directory on the host
	Guest string // absolute path the plugin sees it at
}

// HookNames maps the names used in files to hook points.
var HookNames = map[string]hookv1.HookPoint{
	"forbidden": hookv1.PointCheckForbidden,
	"before":    hookv1.PointBeforeSend,
	"after":     hookv1.PointAfterSend,
	"select":    hookv1.PointSelectQueue,
}

// HookName is the file's name of a hook point ("forbidden", "before", "after", "select").
func HookName(p hookv1.HookPoint) string {
	for n, q := range HookNames {
		if q == p {
			return n
		}
	}
	return fmt.Sprintf("point(%d)", p)
}

// Error is an invalid configuration: every problem found, each with its position.
type Error struct {
	Diags hcl.Diagnostics
	files map[string]*hcl.File
}

// Error lists the problems, one per line: "file:line,col: summary; detail".
func (e *Error) Error() string {
	var b strings.Builder
	n := 0
	for _, d := range e.Diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		n++
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d,%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}

// WriteTo writes the problems with the source lines they point at, for a terminal.
func (e *Error) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	err := hcl.NewDiagnosticTextWriter(cw, e.files, 100, false).WriteDiagnostics(e.Diags)
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Load reads and checks the configuration file at path. An invalid file gives an *Error.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(src, path)
}

// Parse decodes src, whose name (used in errors and to resolve relative plugin paths) is
// filename. An invalid file gives an *Error.
func Parse(src []byte, filename string) (*File, error) {
	d := newDecoder(src, filename)
	f := d.file()
	if d.diags.HasErrors() {
		sort.SliceStable(d.diags, func(i, j int) bool { return diagPos(d.diags[i]) < diagPos(d.diags[j]) })
		return nil, &Error{Diags: d.diags, files: d.files}
	}
	return f, nil
}

func diagPos(d *hcl.Diagnostic) int {
	if d.Subject == nil {
		return -1
	}
	return d.Subject.Start.Byte
}

// Options returns the send options the producer block sets (see Settings). Settings it does not
// name keep send's defaults.
func (p *Producer) Options() []send.Option {
	var o []send.Option
	for _, s := range Settings {
		if opt := s.option(p); opt != nil {
			o = append(o, opt)
		}
	}
	if c := p.Compression; c != nil {
		o = append(o, send.WithCompression(c.Threshold, c.Type, c.Level))
	}
	if b := p.Backpressure; b != nil {
		o = append(o, send.WithAsyncBackpressure(b.MaxMessages, b.MaxBytes, b.Block))
	}
	if p.Credentials != nil {
		o = append(o, send.WithCredentials(*p.Credentials))
	}
	if p.TLS != nil {
		o = append(o, send.WithTLS(p.TLS))
	}
	return o
}

// SameStartSettings reports whether two producer blocks have the same text: settings that only
// apply when a producer starts (everything but plugins) did not change.
func (p *Producer) SameStartSettings(q *Producer) bool { return p.fingerprint == q.fingerprint }

// Wants reports whether the plugin's topic filter lets topic (without namespace) through.
func (p *Plugin) Wants(topic string) bool {
	return len(p.Topics) == 0 || slices.Contains(p.Topics, topic)
}

// Errorf is an error about a plugin found when it is loaded, prefixed with its position.
func (p *Plugin) Errorf(format string, a ...any) error {
	return &PluginError{Pos: p.Pos, Plugin: p.Name, Err: fmt.Errorf(format, a...)}
}

// PluginError is a plugin that could not be loaded; its text starts with the position of the
// plugin's block.
type PluginError struct {
	Pos    string
	Plugin string
	Err    error
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("%s: plugin %q: %v", e.Pos, e.Plugin, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }
