// Command rocketsend is rocketsend's command line: send messages, benchmark the producer (alone
// or beside the official Java producer), check and scaffold plugins, and run the demo.
//
//	rocketsend demo                          # local RocketMQ, example plugins, every send mode
//	rocketsend send -n 127.0.0.1:9876 -t Orders --body '{"id":42}' --keys order-42
//	rocketsend bench -n 127.0.0.1:9876 -t Bench --count 100000 --json
//	rocketsend plugin check policy.wasm --setting deny_tags=secret
//	rocketsend plugin new ./myplugin
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/config"
)

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		printError(os.Stderr, err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "rocketsend",
		Short: "A RocketMQ producer with run-time plugins: send, bench, plugin check/new, demo",
		Long: `rocketsend is a Go producer for Apache RocketMQ whose send pipeline runs plugins
(WebAssembly modules) declared in a configuration file (docs/config.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newSendCmd(), newBenchCmd(), newPluginCmd(), newDemoCmd())
	return root
}

// printError prints an error once; a configuration error with the source lines it points at.
func printError(w io.Writer, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintln(w, "rocketsend: invalid configuration:")
		_, _ = ce.WriteTo(w)
		return
	}
	fmt.Fprintln(w, "rocketsend:", err)
}
