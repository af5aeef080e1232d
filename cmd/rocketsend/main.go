// Command rocketsend is rocketsend's command line: send messages, benchmark the producer (alone
// or beside the official Java producer), look at topics, check and scaffold plugins, and run the
// demo.
//
//	rocketsend demo                          # local RocketMQ, example plugins, every send mode
//	rocketsend send -n 127.0.0.1:9876 -t Orders --body '{"id":42}' --keys order-42
//	rocketsend bench -n 127.0.0.1:9876 -t Bench --count 100000 --json
//	rocketsend topic route -n 127.0.0.1:9876 Orders
//	rocketsend plugin check policy.wasm --setting deny_tags=secret
//	rocketsend plugin new ./myplugin
//
// Exit status: 0 success, 1 a runtime failure (a send failed, the cluster is unreachable, a plugin
// refused to load), 2 a usage error (an unknown flag, a bad flag value, a missing argument).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/config"
)

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		printError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "rocketsend",
		Short: "A RocketMQ producer with run-time plugins: send, bench, topic, plugin check/new, demo",
		Long: `rocketsend is a Go producer for Apache RocketMQ whose send pipeline runs plugins
(WebAssembly modules) declared in a configuration file (docs/config.md).

Exit status: 0 success, 1 a runtime failure, 2 a usage error.`,
		Version:       rocketsend.BuildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("rocketsend {{.Version}}\n")
	// Children inherit the flag error function: every bad flag is a usage error.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newSendCmd(), newBenchCmd(), newTopicCmd(), newPluginCmd(), newDemoCmd())
	return root
}

// usageError is a mistake in how the command was called; the command exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is a usage error (exit status 2).
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// args wraps a cobra argument check so that a wrong number of arguments is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
		}
		return nil
	}
}

// exitCode is 2 for usage errors and 1 for everything else.
func exitCode(err error) int {
	var ue usageError
	// cobra reports an unknown subcommand with a plain error.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 2
	}
	return 1
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
	if exitCode(err) == 2 {
		fmt.Fprintln(w, "(rocketsend --help, or rocketsend COMMAND --help, lists the commands and flags)")
	}
}
