package rocketsend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// pluginDir builds the example plugins once per test binary.
func pluginDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "rocketsend-plugins")
		if buildErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			buildErr = examplebuild.Build(ctx, buildDir, examplebuild.Names...)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// exampleSetup copies the example configuration into a fresh directory with the plugins it names
// under plugins/, and returns the config's path.
func exampleSetup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(pluginDir(t), filepath.Join(dir, "plugins")); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("examples/config/rocketsend.hcl")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rocketsend.hcl")
	writeFile(t, path, string(src))
	return path
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors and deploy tools do, so a watcher never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e9)
}

// TestExampleConfigEndToEnd runs the example file's plugins in a producer against the real broker,
// reloads a changed file while sends are in flight, and checks what the broker stored.
func TestExampleConfigEndToEnd(t *testing.T) {
	cl := rmqtest.Start(t)
	t.Setenv("NAMESRV_ADDR", cl.NameServer())
	path := exampleSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	topic := uniqueTopic("rs_embed")
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ps := range p.Plugins() {
		names = append(names, ps.Name+"="+strings.Join(ps.Hooks, "+"))
	}
	if got := strings.Join(names, " "); got != "policy=forbidden redact=before tracing=before+after keyhash=select zoneaffinity=select" {
		t.Errorf("plugins: %s", got)
	}

	m := message.New(topic, []byte("card 4111111111111111"))
	m.SetKeys("order-1")
	res, err := sendAndView(ctx, t, p, m)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Body) != "card ****************" || res.Property("redacted") != "true" ||
		!strings.HasPrefix(res.Property("trace_id"), "orders-") {
		t.Errorf("stored %q with properties %v", res.Body, res.Properties)
	}
	noKey := message.New(topic, []byte("no key"))
	r, err := p.Send(ctx, noKey)
	if err != nil {
		t.Fatal(err)
	}
	if r.Queue.BrokerName != rmqtest.BrokerB {
		t.Errorf("zoneaffinity (brokers = broker-b) sent a keyless message to %v", r.Queue)
	}
	secret := message.New(topic, []byte("x"))
	secret.SetTags("secret")
	var fe *send.ForbiddenError
	if _, err := p.Send(ctx, secret); !errors.As(err, &fe) {
		t.Fatalf("tag secret: %v, want a ForbiddenError", err)
	}

	// Reload a changed file while async sends run: none may fail, and the new settings apply to
	// what is sent afterwards.
	oldSet := p.set
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				m := message.New(topic, []byte("during reload"))
				m.SetKeys(fmt.Sprint("k", i))
				err := p.SendAsync(ctx, m, func(_ *message.SendResult, err error) {
					if err != nil {
						failed.Add(1)
						t.Errorf("async send during reload: %v", err)
					}
					sent.Add(1)
					close(done)
				})
				if err != nil {
					t.Errorf("SendAsync: %v", err)
					return
				}
				<-done
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	src, _ := os.ReadFile(path)
	changed := strings.Replace(string(src), `settings       = { name = "orders" }`, `settings       = { name = "v2" }`, 1)
	changed = strings.Replace(changed, `deny_tags = "secret,internal"`, `deny_tags = "vip"`, 1)
	if changed == string(src) {
		t.Fatal("the example file changed shape; update this test")
	}
	writeFile(t, path, changed)
	if err := p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if sent.Load() == 0 || failed.Load() > 0 {
		t.Fatalf("during reload: %d sent, %d failed", sent.Load(), failed.Load())
	}
	p.retiring.Wait() // the old set is closed once its in-flight sends are done
	oldTracing := oldSet.Set[2]
	sc := &send.SendContext{Context: ctx, Message: message.New(topic, []byte("x"))}
	before := oldTracing.Stats().ByKind[host.FailUnavailable]
	oldTracing.Hooks().(send.SendMessageBeforeHook).SendMessageBefore(sc)
	if oldTracing.Stats().ByKind[host.FailUnavailable] != before+1 {
		t.Error("the old tracing plugin still runs after the reload drained it: not closed")
	}

	m2 := message.New(topic, []byte("after reload"))
	m2.SetKeys("order-2")
	m2.SetTags("secret") // allowed now
	res2, err := sendAndView(ctx, t, p, m2)
	if err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if !strings.HasPrefix(res2.Property("trace_id"), "v2-") {
		t.Errorf("after reload, trace_id %q", res2.Property("trace_id"))
	}
	vip := message.New(topic, []byte("x"))
	vip.SetTags("vip")
	if _, err := p.Send(ctx, vip); !errors.As(err, &fe) {
		t.Fatalf("tag vip after reload: %v, want a ForbiddenError", err)
	}

	// A broken file is refused with its position; the running plugins stay.
	writeFile(t, path, changed+"\nplugin \"broken\" {\n  kind = \"wasm\"\n  path = \"plugins/none.wasm\"\n  timeout = \"soon\"\n}\n")
	err = p.Reload(ctx)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "rocketsend.hcl:") || !strings.Contains(err.Error(), "timeout must be a duration") {
		t.Fatalf("broken reload: %v", err)
	}
	writeFile(t, path, changed+"\nplugin \"missing\" {\n  kind = \"wasm\"\n  path = \"plugins/none.wasm\"\n}\n")
	err = p.Reload(ctx)
	var pe *config.PluginError
	if !errors.As(err, &pe) || pe.Plugin != "missing" || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("reload with a missing plugin: %v", err)
	}
	if _, err := p.Send(ctx, vip); !errors.As(err, &fe) {
		t.Fatalf("after failed reloads the running set changed: %v", err)
	}
}

func sendAndView(ctx context.Context, t *testing.T, p *Producer, m *message.Message) (*message.MessageExt, error) {
	t.Helper()
	r, err := p.Send(ctx, m)
	if err != nil {
		return nil, err
	}
	return p.ViewMessage(ctx, r.OffsetMsgID)
}

// TestAutomaticReload: a file change and SIGHUP each reload the plugins when asked to.
func TestAutomaticReload(t *testing.T) {
	cl := rmqtest.Start(t)
	t.Setenv("NAMESRV_ADDR", cl.NameServer())
	dir := t.TempDir()
	tracing := filepath.Join(pluginDir(t), "tracing.wasm")
	conf := func(name string) string {
		return fmt.Sprintf("producer {\n  group = \"rs_reload\"\n}\nplugin \"tracing\" {\n  kind = \"wasm\"\n  path = %q\n  settings = { name = %q }\n}\n", tracing, name)
	}
	path := filepath.Join(dir, "rs.hcl")
	writeFile(t, path, conf("first"))
	reloads := make(chan error, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := New(ctx, path, WithReloadOnChange(50*time.Millisecond), WithReloadOnSignal(syscall.SIGHUP),
		WithOnReload(func(err error) { reloads <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	topic := uniqueTopic("rs_reload")
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 2, ""); err != nil {
		t.Fatal(err)
	}
	traceOf := func() string {
		m := message.New(topic, []byte("x"))
		got, err := sendAndView(ctx, t, p, m)
		if err != nil {
			t.Fatal(err)
		}
		return got.Property("traced_by")
	}
	wait := func(what string) {
		select {
		case err := <-reloads:
			if err != nil {
				t.Fatalf("%s: reload failed: %v", what, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: no reload", what)
		}
	}
	if got := traceOf(); got != "first" {
		t.Fatalf("traced_by = %q", got)
	}
	writeFile(t, path, conf("second"))
	wait("file change")
	if got := traceOf(); got != "second" {
		t.Fatalf("after the file changed, traced_by = %q", got)
	}

	// Stop the change watcher from seeing the next edit first: same content hash is no change,
	// so edit, wait for that reload, then signal with unchanged content.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait("SIGHUP")

	// A broken edit is reported once, and the running plugins stay.
	writeFile(t, path, "plugin \"x\" {\n")
	select {
	case err := <-reloads:
		if err == nil || !strings.Contains(err.Error(), "rs.hcl:") {
			t.Fatalf("broken file: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("broken file: no reload attempt")
	}
	if got := traceOf(); got != "second" {
		t.Fatalf("after a broken edit, traced_by = %q", got)
	}
	select {
	case err := <-reloads:
		t.Fatalf("the same broken file was reloaded again: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestProcessPluginMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rs.hcl")
	writeFile(t, path, "producer {\n  name_servers = [\"127.0.0.1:1\"]\n}\n\nplugin \"audit\" {\n  kind = \"process\"\n  path = \"bin/audit\"\n}\n")
	_, err := New(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "rs.hcl:5: plugin \"audit\"") ||
		!strings.Contains(err.Error(), "bin/audit: no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewReportsConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.hcl")
	writeFile(t, path, "producer {\n  retries = \"many\"\n}\n")
	_, err := New(context.Background(), path)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "rs.hcl:2,13") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(context.Background(), filepath.Join(t.TempDir(), "none.hcl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
