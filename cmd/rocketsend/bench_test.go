package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestBenchUsageErrors(t *testing.T) {
	t.Setenv("NAMESRV_ADDR", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "fast"}, "want sync, async, oneway, batch, auto-batch, floor"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "floor", "--duration", "5s"}, "--mode floor needs --count"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "floor", "--count", "5000000", "--size", "4096"}, "lower --count"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "floor", "--inflight", "0"}, "--inflight must be at least 1"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "auto-batch", "--inflight", "0"}, "--inflight must be at least 1"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "sync", "--set", "auto_batch=maybe"}, "auto_batch"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "sync", "--floor-work", "5us"}, "--floor-work is for --mode floor only"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "floor", "--floor-work", "-1us"}, "want 0 to 1s"},
		{[]string{"bench", "-n", "127.0.0.1:9", "--mutexprofile", "/nonexistent-dir/mutex.out"}, "--mutexprofile"},
		// Raw frames cannot carry what the producer adds besides the header.
		{[]string{"bench", "-n", "127.0.0.1:9", "--mode", "floor", "--count", "10", "--set", "namespace=ns1"}, "does not sign (credentials), encrypt (tls) or prefix a namespace"},
	} {
		text, err := run(t, "", tc.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(text, tc.want) {
			t.Errorf("%v: %v (exit %d), output lacks %q:\n%s", tc.args, err, exitCode(err), tc.want, text)
		}
	}
}

// TestFloorFrames decodes the floor's frames as a broker would: SEND_MESSAGE_V2 in the header
// serialization asked for, one UNIQ_KEY each, WAIT=true, round robin over the queues.
func TestFloorFrames(t *testing.T) {
	a, b := &floorConn{broker: "broker-a"}, &floorConn{broker: "broker-b"}
	targets := []floorTarget{{a, 0}, {a, 1}, {b, 0}}
	for _, st := range []codec.SerializeType{codec.SerializeJSON, codec.SerializeRocketMQ} {
		a.frames, b.frames = nil, nil
		h := floorHeader{serialize: st, group: "g1", createTopicKey: "TBW102", defaultTopicQueueNums: 4}
		frames, err := floorFrames(benchOptions{topic: "T", count: 7, size: 100}, h, targets)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.frames) != 5 || len(b.frames) != 2 {
			t.Fatalf("%v: frames per broker %v %v", st, a.frames, b.frames)
		}
		ids := map[string]bool{}
		for i, f := range frames {
			if got := codec.SerializeType(binary.BigEndian.Uint32(f[4:]) >> 24); got != st {
				t.Fatalf("frame %d: serialize %v, want %v", i, got, st)
			}
			cmd, err := codec.DecodeFrame(f[4:])
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := codec.DecodeSendMessageRequestHeader(cmd)
			if err != nil {
				t.Fatal(err)
			}
			props := codec.DecodeProperties(hdr.Properties)
			if cmd.Code != codec.SendMessageV2 || cmd.Opaque != int32(i+1) || len(cmd.Body) != 100 || hdr.Topic != "T" ||
				hdr.ProducerGroup != "g1" || hdr.QueueID != targets[i%3].queue || hdr.BrokerName != targets[i%3].conn.broker ||
				props[message.PropertyWaitStoreMsgOK] != "true" || len(props) != 2 {
				t.Errorf("%v frame %d: code %d opaque %d header %+v props %v", st, i, cmd.Code, cmd.Opaque, hdr, props)
			}
			ids[props[message.PropertyUniqClientMessageIDKeyIdx]] = true
		}
		if len(ids) != len(frames) {
			t.Errorf("%v: %d distinct UNIQ_KEYs for %d frames", st, len(ids), len(frames))
		}
	}
}

// TestFloorReadCountsBrokerErrors feeds the floor's reader a success and a SYSTEM_BUSY response:
// the second is a failed send (a broker fault, injected through a pipe).
func TestFloorReadCountsBrokerErrors(t *testing.T) {
	client, broker := net.Pipe()
	defer broker.Close()
	fc := &floorConn{broker: "broker-a", addr: "pipe", conn: client}
	fc.written.Store(2)
	m := &meter{ctx: context.Background(), stop: context.Background(), res: &benchResult{hist: hdrhistogram.New(1, 60_000_000, 3)},
		window: hdrhistogram.New(1, 60_000_000, 3), start: time.Now()}
	starts := make([]atomic.Int64, 2)
	sem := make(chan struct{}, 2)
	sem <- struct{}{}
	sem <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- floorRead(ctx, fc, m, starts, sem) }()
	w := bufio.NewWriter(broker)
	for i, code := range []int32{codec.Success, codec.SystemBusy} {
		resp := &codec.Command{Code: code, Opaque: int32(i + 1), Flag: codec.FlagResponse, Remark: "busy"}
		f, err := codec.AppendFrame(nil, resp, codec.SerializeJSON)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fc.received.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	client.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m.done.Load() != 2 || m.failed.Load() != 1 || len(sem) != 0 {
		t.Errorf("done %d failed %d outstanding %d, want 2, 1, 0", m.done.Load(), m.failed.Load(), len(sem))
	}
	if e, _ := m.firstErr.Load().(string); !strings.Contains(e, "SYSTEM_BUSY") {
		t.Errorf("first error %q", e)
	}
}

// TestBenchFloor runs a short floor against the real cluster, in both header serializations:
// every frame answered, every message stored.
func TestBenchFloor(t *testing.T) {
	cl := rmqtest.Start(t)
	for _, st := range []string{"json", "rocketmq"} {
		text, err := run(t, "", "bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_floor"), "--mode", "floor",
			"--count", "400", "--size", "300", "--inflight", "32", "--warmup", "5", "--set", "serialize="+st, "--json", "--no-progress")
		if err != nil {
			t.Fatalf("bench --mode floor (%s): %v\n%s", st, err, text)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			t.Fatalf("bench --json: %v\n%s", err, text)
		}
		if r.Mode != "floor" || r.Sent != 400 || r.Failed != 0 || r.Latencies != 400 || r.MBPerSec <= 0 || r.CPUNanosPerMsg <= 0 {
			t.Errorf("floor (%s): %+v", st, r)
		}
		if r.Stored == nil || r.Stored.Stored != 400 || r.Stored.Verdict != verdictOK {
			t.Errorf("floor (%s) stored check: %+v", st, r.Stored)
		}
	}
	// --floor-work runs between a frame's start and its write, so it is in every latency.
	text, err := run(t, "", "bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_floor"), "--mode", "floor",
		"--count", "100", "--inflight", "4", "--warmup", "5", "--floor-work", "2ms", "--json", "--no-progress")
	if err != nil {
		t.Fatalf("bench --mode floor --floor-work: %v\n%s", err, text)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, text)
	}
	if r.Sent != 100 || r.Failed != 0 || r.P50Ms < 2 {
		t.Errorf("floor with 2 ms of work per frame: sent %d, failed %d, p50 %.3f ms (want at least 2)", r.Sent, r.Failed, r.P50Ms)
	}
}

// TestBenchProfiles writes the three pprof profiles of a short sync run: each a gzipped profile.
func TestBenchProfiles(t *testing.T) {
	cl := rmqtest.Start(t)
	dir := t.TempDir()
	paths := map[string]string{"--cpuprofile": "cpu.out", "--mutexprofile": "mutex.out", "--memprofile": "mem.out"}
	args := []string{"bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_prof"), "--mode", "sync", "--count", "200",
		"--concurrency", "2", "--warmup", "5", "--no-progress"}
	for flag, name := range paths {
		args = append(args, flag, filepath.Join(dir, name))
	}
	if text, err := run(t, "", args...); err != nil {
		t.Fatalf("bench with profiles: %v\n%s", err, text)
	}
	for flag, name := range paths {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, err %v: want a gzipped pprof profile", flag, len(b), err)
		}
	}
}

// TestBenchAutoBatch runs --mode auto-batch (async, auto_batch on) and sync with
// --set auto_batch=true against the real cluster: every send acknowledged and stored.
func TestBenchAutoBatch(t *testing.T) {
	cl := rmqtest.Start(t)
	for _, args := range [][]string{
		{"--mode", "auto-batch", "--inflight", "128"},
		{"--mode", "sync", "--set", "auto_batch=true", "--concurrency", "4"},
	} {
		text, err := run(t, "", append([]string{"bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_autobatch"),
			"--count", "600", "--size", "500", "--warmup", "5", "--json", "--no-progress"}, args...)...)
		if err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, text)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			t.Fatalf("bench --json: %v\n%s", err, text)
		}
		if !r.AutoBatch || r.Mode != args[1] || r.Sent != 600 || r.Failed != 0 || r.Latencies != 600 || r.MBPerSec <= 0 {
			t.Errorf("bench %v: %+v", args, r)
		}
		if r.Stored == nil || r.Stored.Stored != 600 || r.Stored.Verdict != verdictOK {
			t.Errorf("bench %v stored check: %+v", args, r.Stored)
		}
	}
	// The summary names the mode.
	text, err := run(t, "", "bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_autobatch"), "--mode", "auto-batch",
		"--count", "100", "--warmup", "0", "--no-progress")
	if err != nil || !strings.Contains(text, "async sends, auto-batched, of 1024 B: 100 sent") {
		t.Errorf("bench --mode auto-batch: %v\n%s", err, text)
	}
}
