// Command fault is the process plugin of host's tests: a guest.Plugin served with guest.Serve, whose
// behaviour the tests choose per message (properties) and per process (FAULT_MODE in the environment
// the host passes):
//
//	FAULT_MODE=garbage   writes garbage on stdout before the handshake
//	FAULT_MODE=v2        speaks go-plugin protocol version 2 only
//	FAULT_MODE=noisy     writes plain lines on stdout and stderr during calls
//	FAULT_MODE=nopoints  serves a plugin that declares no hook point
//
// Per message (BEFORE_SEND): property hang=1 blocks forever, flood=1 writes thousands of forged log
// lines (stdout, stderr, its logger), exit=1 exits the process, fail=1
// returns an error, upper=1 replaces the body with its upper-case form; every call stamps
// pid, env_secret (ROCKETSEND_TEST_SECRET) and env_given (GIVEN), "-" when unset, so the tests see which process
// answered and what environment it has. CHECK_FORBIDDEN forbids topic "denied"; SELECT_QUEUE
// picks the queue in property q; AFTER_SEND logs at info, or panics with property panic=1, or
// never returns with hang=1.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hashicorp/go-plugin"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookgrpc"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func init() {
	guest.Register(guest.Plugin{
		Name: "fault", Version: "1",
		Needs:       []hookv1.Need{hookv1.NeedBodyEager},
		SelectRetry: hookv1.SelectRetrySameQueue, // honoured by the process back end too

		Init: func(c hookv1.HookConfig) error {
			if v, ok := c.Setting("reject"); ok {
				return errors.New("rejected: " + v)
			}
			return nil
		},
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if string(v.Topic()) == "denied" {
				d.Forbid("topic denied")
			}
			return nil
		},
		Before: before,
		After: func(v *hookv1.View) {
			if has(v, "hang") {
				select {} // never answers, as a hostile plugin
			}
			if has(v, "panic") {
				panic("after asked to panic")
			}
			guest.Logf(hookv1.LogInfo, "after topic=%s status=%d", v.Topic(), v.Status())
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if q, ok := v.Property("q"); ok {
				n, err := strconv.Atoi(string(q))
				if err != nil {
					return err
				}
				d.SelectQueue(int32(n))
			}
			return nil
		},
	})
}

func before(v *hookv1.View, d *hookv1.DecisionBuilder) error {
	if os.Getenv("FAULT_MODE") == "noisy" {
		fmt.Println("plain stdout line from the plugin")
		fmt.Fprintln(os.Stderr, "plain stderr line from the plugin")
	}
	if has(v, "hang") {
		select {}
	}
	if has(v, "flood") {
		// A hostile plugin: thousands of lines, each trying to forge a record and repaint the
		// terminal, on stdout, on stderr and through its logger.
		for i := 0; i < 3000; i++ {
			fmt.Printf("flood %d\n2026-01-01T00:00:00Z [ERROR] host: forged\x1b[2J\n", i)
			fmt.Fprintf(os.Stderr, "flood %d\x1b]0;pwned\x07\n", i)
			guest.Log(hookv1.LogWarn, fmt.Sprintf("flood %d\n2026-01-01T00:00:00Z [ERROR] host: forged\x1b[31m", i))
		}
	}
	if has(v, "exit") {
		os.Exit(3)
	}
	if has(v, "fail") {
		return errors.New("asked to fail")
	}
	guest.Log(hookv1.LogInfo, "before "+string(v.Topic()))
	d.SetProperty("pid", strconv.Itoa(os.Getpid()))
	d.SetProperty("env_secret", env("ROCKETSEND_TEST_SECRET"))
	d.SetProperty("env_given", env("GIVEN"))
	if has(v, "upper") {
		d.ReplaceBody(bytes.ToUpper(guest.Body()))
	}
	return nil
}

// env returns the variable's value, or "-" when unset (RocketMQ property values cannot be blank).
func env(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return "-"
}

func has(v *hookv1.View, name string) bool {
	val, ok := v.Property(name)
	return ok && string(val) == "1"
}

func main() {
	switch os.Getenv("FAULT_MODE") {
	case "garbage":
		fmt.Println("hello, I am not a plugin handshake")
	case "nopoints":
		// Not built on guest.Serve (whose Register refuses a plugin without hooks): a hand-made
		// server that describes a plugin with no hook point.
		plugin.Serve(hookgrpc.ServeConfig(noPoints{}, hookgrpc.NewLogger("fault")))
		return
	case "v2":
		cfg := hookgrpc.ServeConfig(hookgrpc.UnimplementedHookServer{}, hookgrpc.NewLogger("fault"))
		cfg.VersionedPlugins = map[int]plugin.PluginSet{2: {hookgrpc.PluginName: &hookgrpc.Plugin{Impl: hookgrpc.UnimplementedHookServer{}}}}
		plugin.Serve(cfg)
		return
	}
	guest.Serve()
}

// noPoints is a Hook server whose plugin declares no hook point.
type noPoints struct {
	hookgrpc.UnimplementedHookServer
}

func (noPoints) Describe(context.Context, *hookgrpc.DescribeRequest) (*hookgrpc.DescribeResponse, error) {
	return &hookgrpc.DescribeResponse{Info: hookv1.AppendHookInfo(nil, &hookv1.HookInfo{Name: "idle", Version: "1"})}, nil
}
