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

// A process plugin: the policy example built natively (go build -o bin/policy ./examples/plugins/policy)
// and run through a producer's hooks. The plugin is restarted if it crashes; Close stops it.
func ExampleLoadProcess() {
	ctx := context.Background()
	policy, err := host.LoadProcess(ctx, "bin/policy",
		host.WithHookConfig(nil, hookv1.KV{Key: "deny_tags", Value: "secret"}),
		host.WithEnv("REGION", "eu-west-1"), // the plugin sees this and nothing else of our environment
		host.WithCallTimeout(500*time.Millisecond),
		host.WithLogger(hclog.Default()))
	if err != nil {
		log.Fatal(err) // e.g. host: process plugin bin/policy: no such file
	}
	defer policy.Close(context.Background())

	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("orders"),
		send.WithHooks(policy.Hooks()))
	if err != nil {
		log.Fatal(err)
	}
	_ = p
}
