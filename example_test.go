package rocketsend_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/core/message"
)

// A service builds its producer from the configuration file, sends, and reloads the plugins on
// SIGHUP or when the file (or a plugin file it names) changes.
func Example() {
	ctx := context.Background()
	p, err := rocketsend.New(ctx, "/etc/orders/rocketsend.hcl",
		rocketsend.WithLogger(hclog.Default()),
		rocketsend.WithReloadOnSignal(),               // SIGHUP
		rocketsend.WithReloadOnChange(10*time.Second), // or poll the files
		rocketsend.WithOnReload(func(err error) {
			if err != nil {
				log.Printf("reload refused, running plugins kept: %v", err)
			}
		}))
	if err != nil {
		log.Fatal(err) // e.g. /etc/orders/rocketsend.hcl:12,10: Invalid plugin kind; kind must be "wasm" or "process"; got "wsam"
	}
	defer p.Close(context.Background())

	m := message.New("Orders", []byte(`{"id":42}`))
	m.SetKeys("order-42")
	res, err := p.Send(ctx, m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Queue)
	for _, ps := range p.Plugins() {
		fmt.Println(ps.Name, ps.Hooks, ps.Stats.Calls)
	}
}

// Reload swaps the plugin set by hand: sends in flight finish on the old plugins.
func ExampleProducer_Reload() {
	ctx := context.Background()
	p, err := rocketsend.New(ctx, "rocketsend.hcl")
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Reload(ctx); err != nil {
		log.Printf("reload refused, running plugins kept: %v", err)
	}
}
