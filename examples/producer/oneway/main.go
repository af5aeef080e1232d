// Command oneway sends a few messages one-way: the request is written and never answered, the
// cheapest send there is, for data whose loss now and then is acceptable (logs, metrics). Nothing
// reports where a message landed or whether it was stored, and a failed write is not retried.
//
// It prints one line per message, with the id the producer gave it (the only thing known):
//
//	sent msgId=<client id>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/oneway -topic example_oneway -create
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("oneway: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_oneway", "topic to send to")
	n := flag.Int("n", 3, "messages to send")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic string, n int, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_oneway"))
	if err != nil {
		return err
	}
	if err := p.Start(context.Background()); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := p.Shutdown(ctx); err == nil {
			err = serr
		}
	}()
	if create {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// TBW102 is the default topic every broker that allows auto-creation hosts: the new
		// topic goes to those brokers.
		if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	for i := range n {
		msg := message.New(topic, fmt.Appendf(nil, "oneway %d", i))
		// The deadline covers finding the route and connecting; the write itself does not wait.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.SendOneway(ctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("send message %d: %w", i, err)
		}
		// The producer stamped the id on the message itself, since no result carries it back.
		fmt.Printf("sent msgId=%s\n", msg.UniqID())
	}
	return nil
}

// defaultNameServer is where Java clients look too: NAMESRV_ADDR, else the local default.
func defaultNameServer() string {
	if a := os.Getenv("NAMESRV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9876"
}
