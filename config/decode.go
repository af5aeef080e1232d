package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The schemas of the file. HCL itself reports unknown names (with a "did you mean" hint),
// missing required ones and duplicates.
var (
	rootSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "cache_dir"}, {Name: "log_level"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "producer"},
			{Type: "plugin", LabelNames: []string{"name"}},
		},
	}
	producerSchema = &hcl.BodySchema{
		Attributes: settingSchema(),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "compression"}, {Type: "backpressure"}, {Type: "credentials"}, {Type: "tls"}},
	}
	compressionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "threshold"}, {Name: "type"}, {Name: "level"}}}
	backpressureSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "max_messages"}, {Name: "max_bytes"}, {Name: "block"}}}
	credentialsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "access_key", Required: true}, {Name: "secret_key", Required: true}, {Name: "security_token"}}}
	tlsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "ca_file"}, {Name: "cert_file"}, {Name: "key_file"}, {Name: "server_name"}, {Name: "insecure_skip_verify"}}}
	pluginSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "kind", Required: true}, {Name: "path", Required: true}, {Name: "sha256"}, {Name: "args"},
			{Name: "hooks"}, {Name: "order"}, {Name: "topics"}, {Name: "failure_policy"}, {Name: "timeout"},
			{Name: "memory_limit"}, {Name: "pool_size"}, {Name: "config"}, {Name: "settings"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "grants"}},
	}
	grantsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "env"}, {Name: "dirs"}}}
)

type decoder struct {
	src      []byte
	filename string
	dir      string // of the file: relative paths resolve against it
	files    map[string]*hcl.File
	diags    hcl.Diagnostics
	ctx      *hcl.EvalContext
}

func newDecoder(src []byte, filename string) *decoder {
	d := &decoder{src: src, filename: filename, files: map[string]*hcl.File{}}
	if filename != "" {
		if abs, err := filepath.Abs(filename); err == nil {
			d.dir = filepath.Dir(abs)
		}
	}
	d.ctx = &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc}}
	return d
}

// envFunc is env(NAME) or env(NAME, DEFAULT): the service's environment variable, so secrets stay
// out of the file. Without a default, an unset variable is an error.
var envFunc = function.New(&function.Spec{
	Params:   []function.Parameter{{Name: "name", Type: cty.String}},
	VarParam: &function.Parameter{Name: "default", Type: cty.String},
	Type:     function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		name := args[0].AsString()
		if v, ok := os.LookupEnv(name); ok {
			return cty.StringVal(v), nil
		}
		switch len(args) {
		case 1:
			return cty.NilVal, fmt.Errorf("environment variable %s is not set (give a default: env(%q, \"...\"))", name, name)
		case 2:
			return args[1], nil
		}
		return cty.NilVal, fmt.Errorf("env takes a name and at most one default, got %d arguments", len(args))
	},
})

func (d *decoder) errorf(rng hcl.Range, summary, format string, a ...any) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, a...), Subject: &r})
}

func (d *decoder) file() *File {
	f, diags := hclsyntax.ParseConfig(d.src, d.filename, hcl.InitialPos)
	d.files[d.filename] = f
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	content, diags := f.Body.Content(rootSchema)
	d.diags = append(d.diags, diags...)
	out := &File{Path: d.filename}
	if a := content.Attributes["cache_dir"]; a != nil {
		if s, ok := d.str(a); ok {
			if s == "off" || s == "" {
				out.CacheDir = s
			} else {
				out.CacheDir = d.path(s)
			}
		}
	}
	if a := content.Attributes["log_level"]; a != nil {
		if s, ok := d.str(a); ok {
			if _, known := LogLevels[s]; known {
				out.LogLevel = s
			} else {
				d.errorf(a.Expr.Range(), "Invalid log level", "log_level is one of trace, debug, info, warn, error, off; got %q", s)
			}
		}
	}
	var producers []*hcl.Block
	seen := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		switch b.Type {
		case "producer":
			producers = append(producers, b)
		case "plugin":
			name := b.Labels[0]
			if prev, dup := seen[name]; dup {
				d.errorf(b.LabelRanges[0], "Duplicate plugin name",
					"plugin %q is already declared at %s; plugin names must be unique", name, short(prev))
				continue
			}
			seen[name] = b.DefRange
			if p := d.plugin(b); p != nil {
				out.Plugins = append(out.Plugins, *p)
			}
		}
	}
	switch len(producers) {
	case 0:
	case 1:
		d.producer(producers[0], &out.Producer)
	default:
		d.errorf(producers[1].DefRange, "Duplicate producer block",
			"a file has at most one producer block; the first is at %s", short(producers[0].DefRange))
	}
	sort.SliceStable(out.Plugins, func(i, j int) bool { return out.Plugins[i].Order < out.Plugins[j].Order })
	return out
}

func short(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

// path resolves a path against the config file's directory and expands a leading "~/".
func (d *decoder) path(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) && d.dir != "" {
		p = filepath.Join(d.dir, p)
	}
	return filepath.Clean(p)
}

// value evaluates a and converts it to ty, reporting failures at a's expression.
func (d *decoder) value(a *hcl.Attribute, ty cty.Type, want string) (cty.Value, bool) {
	v, diags := a.Expr.Value(d.ctx)
	if diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return cty.NilVal, false
	}
	if v.IsNull() {
		d.errorf(a.Expr.Range(), "Missing value", "%s must be %s, not null", a.Name, want)
		return cty.NilVal, false
	}
	c, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a.Expr.Range(), "Invalid value", "%s must be %s, got %s", a.Name, want, describe(v))
		return cty.NilVal, false
	}
	if !c.IsWhollyKnown() {
		d.errorf(a.Expr.Range(), "Invalid value", "%s must be known when the file is read", a.Name)
		return cty.NilVal, false
	}
	return c, true
}

func describe(v cty.Value) string {
	switch {
	case v.Type() == cty.String:
		return strconv.Quote(v.AsString())
	case v.Type() == cty.Number:
		return "the number " + v.AsBigFloat().Text('g', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprintf("%v", v.True())
	}
	return v.Type().FriendlyName()
}

func (d *decoder) str(a *hcl.Attribute) (string, bool) {
	v, ok := d.value(a, cty.String, "a string")
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) strs(a *hcl.Attribute) ([]string, bool) {
	v, ok := d.value(a, cty.List(cty.String), `a list of strings, like ["a", "b"]`)
	if !ok {
		return nil, false
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out, true
}

func (d *decoder) strMap(a *hcl.Attribute, want string) (map[string]string, bool) {
	v, ok := d.value(a, cty.Map(cty.String), want)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for k, e := range v.AsValueMap() {
		out[k] = e.AsString()
	}
	return out, true
}

func (d *decoder) boolean(a *hcl.Attribute) (bool, bool) {
	v, ok := d.value(a, cty.Bool, "true or false")
	if !ok {
		return false, false
	}
	return v.True(), true
}

// integer reads a whole number in [lo, hi].
func (d *decoder) integer(a *hcl.Attribute, lo, hi int64) (int64, bool) {
	v, ok := d.value(a, cty.Number, "a whole number")
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < lo || n > hi {
		d.errorf(a.Expr.Range(), "Invalid value", "%s must be a whole number from %d to %d, got %s", a.Name, lo, hi, bf.Text('g', -1))
		return 0, false
	}
	return n, true
}

// duration reads a Go duration string ("3s", "500ms", "1m30s"), at least min.
func (d *decoder) duration(a *hcl.Attribute, min time.Duration) (time.Duration, bool) {
	s, ok := d.str(a)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < min {
		d.errorf(a.Expr.Range(), "Invalid duration",
			`%s must be a duration of at least %v, like "3s", "500ms" or "1m30s"; got %q`, a.Name, min, s)
		return 0, false
	}
	return v, true
}

var sizeRE = regexp.MustCompile(`^\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$`)

var sizeUnits = map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}

// size reads a byte size: a number, or a string with a unit ("4MiB", "512KiB", "100MB"), in [lo, hi].
func (d *decoder) size(a *hcl.Attribute, lo, hi int64) (int64, bool) {
	v, diags := a.Expr.Value(d.ctx)
	if diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return 0, false
	}
	text := ""
	switch {
	case !v.IsNull() && v.Type() == cty.Number:
		text = v.AsBigFloat().Text('f', -1)
	case !v.IsNull() && v.Type() == cty.String:
		text = v.AsString()
	}
	m := sizeRE.FindStringSubmatch(text)
	var n int64
	var err error
	if m != nil {
		n, err = strconv.ParseInt(m[1], 10, 64)
		if err == nil && n > math.MaxInt64/sizeUnits[m[2]] {
			err = strconv.ErrRange
		}
		n *= sizeUnits[m[2]]
	}
	if m == nil || err != nil || n < lo || n > hi {
		d.errorf(a.Expr.Range(), "Invalid size",
			`%s must be a byte size from %d to %d: a number or a string like "4MiB", "512KiB", "100MB"; got %s`,
			a.Name, lo, hi, describe(v))
		return 0, false
	}
	return n, true
}

func (d *decoder) body(b hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := b.Content(schema)
	d.diags = append(d.diags, diags...)
	return c
}

func (d *decoder) producer(b *hcl.Block, p *Producer) {
	if r := b.Body.(*hclsyntax.Body).Range(); r.End.Byte <= len(d.src) {
		p.fingerprint = string(d.src[r.Start.Byte:r.End.Byte])
	}
	c := d.body(b.Body, producerSchema)
	for _, s := range Settings {
		if a := c.Attributes[s.Name]; a != nil {
			d.setting(s, a, p)
		}
	}
	d.checkProducer(c.Attributes, p)
	for _, blk := range c.Blocks {
		switch blk.Type {
		case "compression":
			p.Compression = d.compression(blk)
		case "backpressure":
			p.Backpressure = d.backpressure(blk)
		case "credentials":
			bc := d.body(blk.Body, credentialsSchema)
			cr := &send.Credentials{}
			for name, dst := range map[string]*string{"access_key": &cr.AccessKey, "secret_key": &cr.SecretKey, "security_token": &cr.SecurityToken} {
				if a := bc.Attributes[name]; a != nil {
					if s, ok := d.str(a); ok {
						*dst = s
					}
				}
			}
			if _, ok := bc.Attributes["access_key"]; ok && (cr.AccessKey == "" || cr.SecretKey == "") {
				d.errorf(blk.DefRange, "Invalid credentials", "access_key and secret_key must both be non-empty")
			}
			p.Credentials = cr
		case "tls":
			p.TLS = d.tls(blk)
		}
	}
}

// settingSchema lists the producer block's attributes, from Settings.
func settingSchema() []hcl.AttributeSchema {
	var out []hcl.AttributeSchema
	for _, s := range Settings {
		out = append(out, hcl.AttributeSchema{Name: s.Name})
	}
	return out
}

func (d *decoder) compression(b *hcl.Block) *Compression {
	c := d.body(b.Body, compressionSchema)
	out := &Compression{Threshold: codec.DefaultCompressThreshold, Type: codec.DefaultCompressionType, Level: codec.DefaultCompressLevel}
	if a := c.Attributes["threshold"]; a != nil {
		if v, ok := d.size(a, 0, codec.MaxFrameSize); ok {
			out.Threshold = int(v)
		}
	}
	if a := c.Attributes["type"]; a != nil {
		if s, ok := d.str(a); ok {
			t, err := codec.ParseCompressionType(s)
			if err != nil {
				d.errorf(a.Expr.Range(), "Invalid compression type", `type must be "zlib", "lz4" or "zstd"; got %q`, s)
			}
			out.Type = t
		}
	}
	if a := c.Attributes["level"]; a != nil {
		if v, ok := d.integer(a, -1, 22); ok {
			out.Level = int(v)
		}
	}
	if out.Type == codec.Zlib && (out.Level < -1 || out.Level > 9) {
		d.errorf(b.DefRange, "Invalid compression level", "zlib levels go from -1 to 9; got %d", out.Level)
	}
	return out
}

func (d *decoder) backpressure(b *hcl.Block) *Backpressure {
	c := d.body(b.Body, backpressureSchema)
	out := &Backpressure{MaxMessages: send.DefaultMaxInFlightMessages, MaxBytes: send.DefaultMaxInFlightBytes, Block: true}
	if a := c.Attributes["max_messages"]; a != nil {
		if v, ok := d.integer(a, 1, 1<<24); ok {
			out.MaxMessages = int(v)
		}
	}
	if a := c.Attributes["max_bytes"]; a != nil {
		if v, ok := d.size(a, 1, 1<<40); ok {
			out.MaxBytes = v
		}
	}
	if a := c.Attributes["block"]; a != nil {
		if v, ok := d.boolean(a); ok {
			out.Block = v
		}
	}
	return out
}

// tls builds the TLS configuration now, so an unreadable certificate is reported at its line.
func (d *decoder) tls(b *hcl.Block) *tls.Config {
	c := d.body(b.Body, tlsSchema)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	files := map[string]string{}
	for _, name := range []string{"ca_file", "cert_file", "key_file"} {
		if a := c.Attributes[name]; a != nil {
			if s, ok := d.str(a); ok {
				files[name] = d.path(s)
			}
		}
	}
	if a := c.Attributes["ca_file"]; a != nil && files["ca_file"] != "" {
		pem, err := os.ReadFile(files["ca_file"])
		if err != nil {
			d.errorf(a.Expr.Range(), "Unreadable CA file", "%v", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				d.errorf(a.Expr.Range(), "Invalid CA file", "%s holds no PEM certificate", files["ca_file"])
			}
			cfg.RootCAs = pool
		}
	}
	certA, keyA := c.Attributes["cert_file"], c.Attributes["key_file"]
	switch {
	case certA != nil && keyA != nil:
		if files["cert_file"] != "" && files["key_file"] != "" {
			pair, err := tls.LoadX509KeyPair(files["cert_file"], files["key_file"])
			if err != nil {
				d.errorf(certA.Expr.Range(), "Invalid client certificate", "%v", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
	case certA != nil:
		d.errorf(certA.Expr.Range(), "Missing key_file", "a client certificate needs key_file too")
	case keyA != nil:
		d.errorf(keyA.Expr.Range(), "Missing cert_file", "a client key needs cert_file too")
	}
	if a := c.Attributes["server_name"]; a != nil {
		if s, ok := d.str(a); ok {
			cfg.ServerName = s
		}
	}
	if a := c.Attributes["insecure_skip_verify"]; a != nil {
		if v, ok := d.boolean(a); ok {
			cfg.InsecureSkipVerify = v
		}
	}
	return cfg
}

var policyNames = map[string]hookv1.FailurePolicy{"closed": hookv1.FailClosed, "open": hookv1.FailOpen}

func (d *decoder) plugin(b *hcl.Block) *Plugin {
	c := d.body(b.Body, pluginSchema)
	p := &Plugin{Name: b.Labels[0], Pos: short(b.DefRange)}
	if p.Name == "" {
		d.errorf(b.LabelRanges[0], "Empty plugin name", `a plugin block needs a name: plugin "policy" { ... }`)
	}
	at := c.Attributes
	if a := at["kind"]; a != nil {
		if s, ok := d.str(a); ok {
			switch Kind(s) {
			case KindWasm, KindProcess:
				p.Kind = Kind(s)
			default:
				d.errorf(a.Expr.Range(), "Invalid plugin kind", `kind must be "wasm" or "process"; got %q`, s)
			}
		}
	}
	if a := at["path"]; a != nil {
		if s, ok := d.str(a); ok {
			if s == "" {
				d.errorf(a.Expr.Range(), "Empty path", "path must name the plugin's file (relative to this file or absolute)")
			} else {
				p.Path = d.path(s)
			}
		}
	}
	if a := at["sha256"]; a != nil {
		if s, ok := d.str(a); ok {
			if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
				d.errorf(a.Expr.Range(), "Invalid sha256", "sha256 must be 64 hexadecimal digits; got %q", s)
			}
			p.SHA256 = strings.ToLower(s)
		}
	}
	if a := at["args"]; a != nil {
		if s, ok := d.strs(a); ok {
			p.Args = s
		}
		if p.Kind == KindWasm {
			d.errorf(a.NameRange, "Unsupported argument for a wasm plugin", "args apply to kind \"process\" only")
		}
	}
	if a := at["hooks"]; a != nil {
		if names, ok := d.strs(a); ok {
			if len(names) == 0 {
				d.errorf(a.Expr.Range(), "No hooks", `hooks must name at least one of "forbidden", "before", "after", "select" (or be left out: every hook the plugin declares)`)
			}
			for _, n := range names {
				pt, ok := HookNames[n]
				if !ok {
					d.errorf(a.Expr.Range(), "Unknown hook", `hooks may name "forbidden", "before", "after" and "select"; got %q`, n)
					continue
				}
				if !slices.Contains(p.Hooks, pt) {
					p.Hooks = append(p.Hooks, pt)
				}
			}
		}
	}
	if a := at["order"]; a != nil {
		if v, ok := d.integer(a, -1e6, 1e6); ok {
			p.Order = int(v)
		}
	}
	if a := at["topics"]; a != nil {
		if s, ok := d.strs(a); ok {
			for _, t := range s {
				if err := codec.ValidateTopic(t); err != nil {
					d.errorf(a.Expr.Range(), "Invalid topic", "%v", err)
				}
			}
			p.Topics = s
		}
	}
	if a := at["failure_policy"]; a != nil {
		p.FailurePolicy = d.failurePolicy(a)
	}
	if a := at["timeout"]; a != nil {
		if v, ok := d.duration(a, time.Microsecond); ok {
			p.Timeout = v
		}
	}
	if a := at["memory_limit"]; a != nil {
		// wasm memory grows in 64 KiB pages, at most 65536 of them (4 GiB).
		if v, ok := d.size(a, 1<<20, 4<<30); ok {
			p.MemoryLimit = v
		}
	}
	if a := at["pool_size"]; a != nil {
		if v, ok := d.integer(a, 1, 1024); ok {
			p.PoolSize = int(v)
		}
	}
	if a := at["config"]; a != nil {
		if s, ok := d.str(a); ok {
			p.Config = []byte(s)
		}
	}
	if a := at["settings"]; a != nil {
		if m, ok := d.strMap(a, `a map of strings, like { deny_tags = "secret" }`); ok {
			p.Settings = sortedKV(m)
		}
	}
	for _, blk := range c.Blocks {
		d.grants(blk, p)
	}
	return p
}

func sortedKV(m map[string]string) []hookv1.KV {
	out := make([]hookv1.KV, 0, len(m))
	for k, v := range m {
		out = append(out, hookv1.KV{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// failurePolicy reads "closed" / "open" for every hook, or a map from hook name to policy.
func (d *decoder) failurePolicy(a *hcl.Attribute) map[hookv1.HookPoint]hookv1.FailurePolicy {
	const want = `"closed", "open", or a map from hook to policy like { before = "open", select = "closed" }`
	v, diags := a.Expr.Value(d.ctx)
	if diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return nil
	}
	out := map[hookv1.HookPoint]hookv1.FailurePolicy{}
	if !v.IsNull() && v.Type() == cty.String {
		fp, ok := policyNames[v.AsString()]
		if !ok {
			d.errorf(a.Expr.Range(), "Invalid failure policy", "failure_policy must be %s; got %q", want, v.AsString())
			return nil
		}
		for _, pt := range HookNames {
			out[pt] = fp
		}
		return out
	}
	m, ok := d.strMap(a, want)
	if !ok {
		return nil
	}
	for k, s := range m {
		pt, ok := HookNames[k]
		if !ok {
			d.errorf(a.Expr.Range(), "Unknown hook", `failure_policy keys are "forbidden", "before", "after" and "select"; got %q`, k)
			continue
		}
		fp, ok := policyNames[s]
		if !ok {
			d.errorf(a.Expr.Range(), "Invalid failure policy", `the policy of %s must be "closed" or "open"; got %q`, k, s)
			continue
		}
		out[pt] = fp
	}
	return out
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// grants reads env (a list of names, copied from the service's environment, or a map of names to
// values) and dirs (a map from guest path to host directory).
func (d *decoder) grants(b *hcl.Block, p *Plugin) {
	c := d.body(b.Body, grantsSchema)
	if a := c.Attributes["env"]; a != nil {
		const want = `a list of variable names copied from the service's environment, like ["REGION"], or a map of names to values`
		v, diags := a.Expr.Value(d.ctx)
		if diags.HasErrors() {
			d.diags = append(d.diags, diags...)
		} else if !v.IsNull() && (v.Type().IsTupleType() || v.Type().IsListType()) {
			if names, ok := d.strs(a); ok {
				for _, n := range names {
					val, set := os.LookupEnv(n)
					if !set {
						d.errorf(a.Expr.Range(), "Environment variable not set",
							"grants.env names %s, which is not set in this process's environment", n)
					}
					p.Env = append(p.Env, hookv1.KV{Key: n, Value: val})
				}
			}
		} else if m, ok := d.strMap(a, want); ok {
			p.Env = sortedKV(m)
		}
		for _, kv := range p.Env {
			if !envName.MatchString(kv.Key) {
				d.errorf(a.Expr.Range(), "Invalid environment variable name", "%q is not a variable name", kv.Key)
			}
		}
	}
	if a := c.Attributes["dirs"]; a != nil {
		if m, ok := d.strMap(a, `a map from the path the plugin sees to a host directory, like { "/rules" = "/etc/rocketsend/rules" }`); ok {
			for _, kv := range sortedKV(m) {
				if !strings.HasPrefix(kv.Key, "/") {
					d.errorf(a.Expr.Range(), "Invalid guest path", "the paths a plugin sees must be absolute; got %q", kv.Key)
					continue
				}
				host := d.path(kv.Value)
				if st, err := os.Stat(host); err != nil || !st.IsDir() {
					d.errorf(a.Expr.Range(), "Not a directory", "grants.dirs[%q] = %q: %s is not a directory", kv.Key, kv.Value, host)
					continue
				}
				p.Dirs = append(p.Dirs, Dir{Host: host, Guest: kv.Key})
			}
		}
	}
	if p.Kind == KindProcess && len(p.Dirs) > 0 {
		d.errorf(b.DefRange, "Unsupported grant for a process plugin",
			"a process plugin runs with the service's user and sees its file system: dirs apply to wasm plugins only")
	}
}
