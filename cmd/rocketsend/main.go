// Command rocketsend is rocketsend's command line. For now it has one subcommand, demo, which
// starts a local Apache RocketMQ (unless given a NameServer), sends messages in every mode through
// the producer with a native Go hook, reads each one back from the broker and shows it.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "demo" {
		fmt.Fprintln(os.Stderr, "usage: rocketsend demo [-namesrv host:port] [-topic T]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	ns := fs.String("namesrv", "", "NameServer address; empty starts a local RocketMQ with tools/rocketmq/rmq.sh")
	topic := fs.String("topic", "RocketsendDemo", "topic to send to (created on every broker)")
	_ = fs.Parse(os.Args[2:])
	if err := demo(os.Stdout, *ns, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "rocketsend demo:", err)
		os.Exit(1)
	}
}
