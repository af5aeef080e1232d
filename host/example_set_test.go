package host_test

import (
	"context"
	"log"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Two plugins, one of each back end, in one option list each, run as one Set: the policy for the
// topic Orders only, then a selector. A process option given to the wasm plugin would fail its
// load with a clear error.
func ExampleSet() {
	ctx := context.Background()
	logger := hclog.Default()
	policy, err := host.Load(ctx, host.KindWasm, "plugins/policy.wasm",
		host.WithLogger(logger), host.WithTopics("Orders"), host.WithPoolSize(4),
		host.WithHookConfig(nil, hookv1.KV{Key: "deny_tags", Value: "secret"}))
	if err != nil {
		log.Fatal(err)
	}
	keyhash, err := host.Load(ctx, host.KindProcess, "bin/keyhash",
		host.WithLogger(logger), host.WithPoints(hookv1.PointSelectQueue), host.WithCallTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	set := host.Set{policy, keyhash}
	defer set.Close(context.Background()) // the wasm instances, and the plugin process

	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("orders"),
		send.WithHooks(set.Hooks()...), send.WithQueueSelector(set.SelectorFactory()))
	if err != nil {
		log.Fatal(err)
	}
	_ = p
}
