package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

const example = "../examples/config/rocketsend.hcl"

func TestExampleFile(t *testing.T) {
	t.Setenv("NAMESRV_ADDR", "10.0.0.1:9876")
	f, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Producer
	if len(p.NameServers) != 1 || p.NameServers[0] != "10.0.0.1:9876" {
		t.Errorf("name servers %v: env() not applied", p.NameServers)
	}
	if p.Group != "orders_service" || p.SendTimeout != 10*time.Second || p.Retries == nil || *p.Retries != 2 {
		t.Errorf("producer = %+v", p)
	}
	if c := p.Compression; c == nil || c.Threshold != 4096 || c.Type != codec.Zlib || c.Level != 5 {
		t.Errorf("compression = %+v", c)
	}
	if b := p.Backpressure; b == nil || b.MaxMessages != 10000 || b.MaxBytes != 100<<20 || !b.Block {
		t.Errorf("backpressure = %+v", b)
	}
	var names []string
	for _, pl := range f.Plugins {
		names = append(names, pl.Name)
		if pl.Kind != KindWasm || !filepath.IsAbs(pl.Path) || filepath.Base(pl.Path) != pl.Name+".wasm" {
			t.Errorf("plugin %s: kind %q path %q", pl.Name, pl.Kind, pl.Path)
		}
		if !strings.HasPrefix(pl.Pos, example+":") {
			t.Errorf("plugin %s: position %q", pl.Name, pl.Pos)
		}
	}
	if got := strings.Join(names, ","); got != "policy,redact,tracing,keyhash,zoneaffinity" {
		t.Errorf("plugins in order: %s", got)
	}
	tr := f.Plugins[2]
	if tr.MemoryLimit != 32<<20 || tr.PoolSize != 4 || tr.FailurePolicy[hookv1.PointAfterSend] != hookv1.FailOpen ||
		len(tr.Settings) != 1 || tr.Settings[0] != (hookv1.KV{Key: "name", Value: "orders"}) {
		t.Errorf("tracing = %+v", tr)
	}
	if kh := f.Plugins[3]; len(kh.Hooks) != 1 || kh.Hooks[0] != hookv1.PointSelectQueue {
		t.Errorf("keyhash hooks = %v", kh.Hooks)
	}
	if f.Plugins[1].Timeout != 100*time.Millisecond {
		t.Errorf("redact timeout = %v", f.Plugins[1].Timeout)
	}
	// The options are accepted by the producer.
	if _, err := send.New(p.Options()...); err != nil {
		t.Fatalf("producer options: %v", err)
	}
}

func TestEveryProducerSetting(t *testing.T) {
	dir := t.TempDir()
	src := `
producer {
  name_servers = "a:1;b:2"
  group = "g1"
  instance_name = "i"
  unit_name = "u"
  namespace = "ns"
  send_timeout = "1s"
  retries = 0
  async_retries = 5
  retry_another_broker_when_not_store_ok = true
  max_message_size = "1MiB"
  default_topic_queue_nums = 8
  heartbeat_interval = "10s"
  route_poll_interval = "5s"
  vip_channel = true
  fault_tolerance = true
  callback_workers = 2
  serialize = "json"
  compression {
    threshold = 1024
    type = "zstd"
    level = 3
  }
  backpressure {
    max_messages = 10
    max_bytes = 65536
    block = false
  }
  credentials {
    access_key = "ak"
    secret_key = env("RS_TEST_SECRET", "sk")
  }
  tls {
    server_name = "broker.example"
    insecure_skip_verify = true
  }
}
cache_dir = "off"
log_level = "debug"
`
	f, err := Parse([]byte(src), filepath.Join(dir, "x.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Producer
	if strings.Join(p.NameServers, ",") != "a:1;b:2" || p.Group != "g1" || p.InstanceName != "i" || p.UnitName != "u" ||
		p.Namespace != "ns" || p.SendTimeout != time.Second || *p.Retries != 0 || *p.AsyncRetries != 5 ||
		!p.RetryAnotherBroker || p.MaxMessageSize != 1<<20 || p.DefaultTopicQueueNums != 8 ||
		p.HeartbeatInterval != 10*time.Second || p.RoutePollInterval != 5*time.Second || !p.VIPChannel ||
		!p.FaultTolerance || p.CallbackWorkers != 2 || *p.Serialize != codec.SerializeJSON {
		t.Errorf("producer = %+v", p)
	}
	if *p.Compression != (Compression{1024, codec.Zstd, 3}) || *p.Backpressure != (Backpressure{10, 65536, false}) {
		t.Errorf("compression %+v backpressure %+v", p.Compression, p.Backpressure)
	}
	if *p.Credentials != (send.Credentials{AccessKey: "ak", SecretKey: "sk"}) {
		t.Errorf("credentials = %+v", p.Credentials)
	}
	if p.TLS == nil || p.TLS.ServerName != "broker.example" || !p.TLS.InsecureSkipVerify {
		t.Errorf("tls = %+v", p.TLS)
	}
	if f.CacheDir != "off" {
		t.Errorf("cache_dir = %q", f.CacheDir)
	}
	if f.LogLevel != "debug" {
		t.Errorf("log_level = %q", f.LogLevel)
	}
	if _, err := send.New(p.Options()...); err != nil {
		t.Fatalf("producer options: %v", err)
	}
}

func TestPluginSettings(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RS_REGION", "eu-west")
	src := `
plugin "a" {
  kind = "wasm"
  path = "/abs/a.wasm"
  sha256 = "` + strings.Repeat("AB", 32) + `"
  hooks = ["before", "forbidden"]
  topics = ["Orders", "Audit"]
  failure_policy = { before = "open", forbidden = "closed" }
  timeout = "2ms"
  config = <<EOT
rules: strict
EOT
  grants {
    env = ["RS_REGION"]
    dirs = { "/rules" = "." }
  }
}
plugin "b" {
  kind = "process"
  path = "bin/b"
  args = ["--fast"]
  order = -1
  grants {
    env = { ZONE = "z1" }
  }
}
`
	f, err := Parse([]byte(src), filepath.Join(dir, "x.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	b, a := f.Plugins[0], f.Plugins[1]
	if b.Name != "b" || b.Kind != KindProcess || b.Path != filepath.Join(dir, "bin/b") || b.Args[0] != "--fast" ||
		b.Env[0] != (hookv1.KV{Key: "ZONE", Value: "z1"}) {
		t.Errorf("b = %+v", b)
	}
	if a.SHA256 != strings.Repeat("ab", 32) || len(a.Hooks) != 2 || a.Hooks[0] != hookv1.PointBeforeSend ||
		!a.Wants("Audit") || a.Wants("Other") || a.FailurePolicy[hookv1.PointBeforeSend] != hookv1.FailOpen ||
		a.FailurePolicy[hookv1.PointCheckForbidden] != hookv1.FailClosed || a.Timeout != 2*time.Millisecond ||
		string(a.Config) != "rules: strict\n" {
		t.Errorf("a = %+v", a)
	}
	if len(a.Env) != 1 || a.Env[0] != (hookv1.KV{Key: "RS_REGION", Value: "eu-west"}) {
		t.Errorf("env grant = %v", a.Env)
	}
	if len(a.Dirs) != 1 || a.Dirs[0] != (Dir{Host: dir, Guest: "/rules"}) {
		t.Errorf("dirs grant = %v", a.Dirs)
	}
}

// TestErrors checks that each invalid file is refused with the line of the mistake and a message
// that says what is expected.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // each must appear in the error
	}{
		{"syntax", "producer {\n  group = \n}", []string{"x.hcl:2,"}},
		{"unknown attribute", "producer {\n  grop = \"g\"\n}", []string{"x.hcl:2,3", `An argument named "grop" is not expected here`, `Did you mean "group"?`}},
		{"unknown block", "producers {}", []string{"x.hcl:1,1", "producers"}},
		{"bad log level", "log_level = \"loud\"", []string{"x.hcl:1,13", "log_level is one of trace, debug, info, warn, error, off", `"loud"`}},
		{"bad kind", "plugin \"p\" {\n  kind = \"wsam\"\n  path = \"p.wasm\"\n}", []string{"x.hcl:2,10", `kind must be "wasm" or "process"; got "wsam"`}},
		{"missing path", "plugin \"p\" {\n  kind = \"wasm\"\n}", []string{"x.hcl:1,", `"path" is required`}},
		{"bad duration", "producer {\n  send_timeout = \"3\"\n}", []string{"x.hcl:2,18", `send_timeout must be a duration`, `"3s"`}},
		{"negative duration", "producer {\n  send_timeout = \"-1s\"\n}", []string{"x.hcl:2,", "at least 1ms"}},
		{"bad type", "producer {\n  retries = \"two\"\n}", []string{"x.hcl:2,13", "retries must be a whole number", `"two"`}},
		{"out of range", "producer {\n  retries = -1\n}", []string{"x.hcl:2,", "from 0 to 100"}},
		{"bad size", "producer {\n  max_message_size = \"4 parsecs\"\n}", []string{"x.hcl:2,", `like "4MiB"`}},
		{"bad group", "producer {\n  group = \"a b\"\n}", []string{"x.hcl:2,", "group"}},
		{"bad namesrv", "producer {\n  name_servers = [\"localhost\"]\n}", []string{"x.hcl:2,", `"host:port"`}},
		{"bad compression", "producer {\n  compression {\n    type = \"snappy\"\n  }\n}", []string{"x.hcl:3,12", `"zlib", "lz4" or "zstd"`}},
		{"bad serialize", "producer {\n  serialize = \"xml\"\n}", []string{"x.hcl:2,", `"rocketmq" or "json"`}},
		{"half credentials", "producer {\n  credentials {\n    access_key = \"ak\"\n  }\n}", []string{"x.hcl:2,", `"secret_key" is required`}},
		{"empty secret", "producer {\n  credentials {\n    access_key = \"ak\"\n    secret_key = \"\"\n  }\n}", []string{"x.hcl:2,", "both be non-empty"}},
		{"missing ca", "producer {\n  tls {\n    ca_file = \"/nonexistent/ca.pem\"\n  }\n}", []string{"x.hcl:3,", "no such file"}},
		{"cert without key", "producer {\n  tls {\n    cert_file = \"c.pem\"\n  }\n}", []string{"x.hcl:3,", "needs key_file"}},
		{"two producers", "producer {}\nproducer {}", []string{"x.hcl:2,", "at most one producer block"}},
		{"duplicate plugin", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n}\nplugin \"p\" {\n kind = \"wasm\"\n path = \"b\"\n}", []string{"x.hcl:5,", "already declared at", "x.hcl:1"}},
		{"unknown hook", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n hooks = [\"befor\"]\n}", []string{"x.hcl:4,", `"forbidden", "before", "after" and "select"; got "befor"`}},
		{"bad policy", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n failure_policy = \"maybe\"\n}", []string{"x.hcl:4,", `"closed", "open"`}},
		{"bad policy key", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n failure_policy = { during = \"open\" }\n}", []string{"x.hcl:4,", `got "during"`}},
		{"bad sha", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n sha256 = \"abc\"\n}", []string{"x.hcl:4,", "64 hexadecimal digits"}},
		{"args on wasm", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n args = [\"x\"]\n}", []string{"x.hcl:4,", `kind "process" only`}},
		{"small memory", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n memory_limit = \"1KiB\"\n}", []string{"x.hcl:4,", "memory_limit must be a byte size from 1048576"}},
		{"settings not strings", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n settings = [\"a\"]\n}", []string{"x.hcl:4,", "a map of strings"}},
		{"bad topic", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n topics = [\"a b\"]\n}", []string{"x.hcl:4,", "topic"}},
		{"unset env", "producer {\n  group = env(\"RS_SURELY_UNSET_VARIABLE\")\n}", []string{"x.hcl:2,", "RS_SURELY_UNSET_VARIABLE is not set"}},
		{"env grant unset", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n grants {\n  env = [\"RS_SURELY_UNSET_VARIABLE\"]\n }\n}", []string{"x.hcl:5,", "not set in this process's environment"}},
		{"dir grant missing", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n grants {\n  dirs = { \"/r\" = \"/nonexistent/dir\" }\n }\n}", []string{"x.hcl:5,", "not a directory"}},
		{"dir grant relative guest", "plugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n grants {\n  dirs = { \"r\" = \".\" }\n }\n}", []string{"x.hcl:5,", "must be absolute"}},
		{"dirs for process", "plugin \"p\" {\n kind = \"process\"\n path = \"a\"\n grants {\n  dirs = { \"/r\" = \".\" }\n }\n}", []string{"x.hcl:4,", "wasm plugins only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "x.hcl")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *config.Error", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var b strings.Builder
			if _, err := ce.WriteTo(&b); err != nil || !strings.Contains(b.String(), "Error: ") {
				t.Errorf("WriteTo: %v\n%s", err, b.String())
			}
		})
	}
}

// TestEveryErrorAtOnce: a file with several mistakes reports all of them.
func TestEveryErrorAtOnce(t *testing.T) {
	src := "producer {\n  retries = -1\n  send_timeout = \"x\"\n}\nplugin \"p\" {\n  kind = \"dll\"\n  path = \"a\"\n}\n"
	_, err := Parse([]byte(src), "x.hcl")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"x.hcl:2,", "x.hcl:3,", "x.hcl:6,"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.hcl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestSameStartSettings(t *testing.T) {
	a, err := Parse([]byte("producer {\n group = \"g\"\n}\nplugin \"p\" {\n kind = \"wasm\"\n path = \"a\"\n}"), "a.hcl")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte("producer {\n group = \"g\"\n}\n"), "a.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("producer {\n group = \"h\"\n}\n"), "a.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Producer.SameStartSettings(&b.Producer) || a.Producer.SameStartSettings(&c.Producer) {
		t.Error("SameStartSettings does not follow the producer block")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "producer {}", "plugin \"a\" {\n kind = \"wasm\"\n path = \"a\"\n}",
		"producer {\n max_message_size = \"4MiB\"\n compression {\n type = \"lz4\"\n }\n}",
		"plugin \"a\" {\n kind = \"wasm\"\n path = \"a\"\n failure_policy = { before = \"open\" }\n settings = { a = \"b\" }\n}",
		"producer { retries = 1e99 }", "producer {\n name_servers = [1, 2]\n}"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(example); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse(src, "fuzz.hcl")
		if err == nil && file == nil {
			t.Fatal("nil file without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}
