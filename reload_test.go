package rocketsend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/internal/wat"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// watPlugin assembles host/testdata/wat/<name>.wat as a plugin declaring every hook point.
func watPlugin(t *testing.T, name string) string {
	t.Helper()
	info := hookv1.HookInfo{Name: name, Version: "1",
		Points: []hookv1.HookPoint{hookv1.PointCheckForbidden, hookv1.PointBeforeSend, hookv1.PointAfterSend, hookv1.PointSelectQueue}}
	ib := hookv1.AppendHookInfo(nil, &info)
	bin, err := wat.AssembleFile(filepath.Join("host", "testdata", "wat", name+".wat"),
		map[string]string{"info": wat.Bytes(ib), "info_len": strconv.Itoa(len(ib))})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(out, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// offlineConf is a configuration whose producer needs no broker until it sends, with plugins.
func offlineConf(cacheDir string, plugins ...string) string {
	s := fmt.Sprintf("producer {\n  group = \"rs_reload\"\n  name_servers = [\"127.0.0.1:1\"]\n}\ncache_dir = %q\n", cacheDir)
	for i, path := range plugins {
		s += fmt.Sprintf("plugin \"p%d\" {\n  kind = \"wasm\"\n  path = %q\n}\n", i, path)
	}
	return s
}

// TestReloadRefusesNoPlugins: a file that drops every plugin block is refused unless allowed.
func TestReloadRefusesNoPlugins(t *testing.T) {
	plain := watPlugin(t, "plain")
	cache := t.TempDir()
	for _, allow := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "rs.hcl")
		writeFile(t, path, offlineConf(cache, plain))
		var opts []Option
		if allow {
			opts = append(opts, WithReloadToNoPlugins())
		}
		p, err := New(context.Background(), path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, offlineConf(cache))
		err = p.Reload(context.Background())
		switch {
		case !allow && !errors.Is(err, ErrNoPlugins):
			t.Errorf("reload to no plugins: %v, want ErrNoPlugins", err)
		case !allow && len(p.Plugins()) != 1:
			t.Errorf("the refused reload left %d plugins, want the running one", len(p.Plugins()))
		case allow && (err != nil || len(p.Plugins()) != 0):
			t.Errorf("allowed reload to no plugins: %v, %d plugins", err, len(p.Plugins()))
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReloadOnChangeWaitsForStableFile: the change watcher reloads a file only once two looks in a
// row saw the same content, and never the half of a file caught between two writes.
func TestReloadOnChangeWaitsForStableFile(t *testing.T) {
	plain := watPlugin(t, "plain")
	cache := t.TempDir()
	path := filepath.Join(t.TempDir(), "rs.hcl")
	writeFile(t, path, offlineConf(cache, plain))
	reloads := make(chan error, 10)
	p, err := New(context.Background(), path, WithOnReload(func(err error) { reloads <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	noReload := func(when string) {
		t.Helper()
		select {
		case err := <-reloads:
			t.Fatalf("%s: reloaded (%v)", when, err)
		default:
		}
	}
	p.watchTick()
	noReload("unchanged")
	// The first half of a write: valid HCL without its plugin blocks.
	full := offlineConf(cache, plain, plain)
	half := full[:strings.Index(full, "plugin ")]
	if err := os.WriteFile(path, []byte(half), 0o644); err != nil {
		t.Fatal(err)
	}
	p.watchTick()
	noReload("half written")
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	p.watchTick()
	noReload("just completed")
	p.watchTick()
	select {
	case err := <-reloads:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("a stable changed file was not reloaded")
	}
	if n := len(p.Plugins()); n != 2 {
		t.Fatalf("%d plugins after the reload, want 2", n)
	}
	p.watchTick()
	noReload("after the reload")
}

// TestHungReload: a plugin that loops while it loads holds neither New nor Reload past their
// context, and a reload in progress blocks neither Plugins nor Close.
func TestHungReload(t *testing.T) {
	plain, loop := watPlugin(t, "plain"), watPlugin(t, "loop_init")
	cache := t.TempDir()
	path := filepath.Join(t.TempDir(), "rs.hcl")
	writeFile(t, path, offlineConf(cache, loop))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := New(ctx, path); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("New with a looping plugin: %v", err)
	}

	writeFile(t, path, offlineConf(cache, plain))
	p, err := New(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, offlineConf(cache, plain, loop))
	done := make(chan error, 1)
	go func() { done <- p.Reload(context.Background()) }() // no deadline: only Close ends it
	time.Sleep(200 * time.Millisecond)                     // let it reach the loop (not an assertion)
	if n := len(p.Plugins()); n != 1 {
		t.Errorf("Plugins() during the reload: %d, want the running one", n)
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for a hung reload")
	}
	if err := <-done; err == nil {
		t.Error("the hung reload succeeded")
	}
}
