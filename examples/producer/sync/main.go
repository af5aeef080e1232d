// Command sync sends a few messages synchronously: each Send returns once the broker stored the
// message (or every retry failed), so the program knows where each one landed.
//
// It prints one line per message:
//
//	sent msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/sync -topic example_sync -create
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
	log.SetPrefix("sync: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_sync", "topic to send to")
	n := flag.Int("n", 3, "messages to send")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic string, n int, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_sync"))
	if err != nil {
		return err
	}
	if err := p.Start(context.Background()); err != nil {
		return err
	}
	defer func() {
		// Shutdown unregisters the producer, so brokers forget it now rather than after a
		// heartbeat timeout; its error matters only when nothing else failed.
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
		msg := message.New(topic, fmt.Appendf(nil, "hello %d", i))
		msg.SetTags("greeting")
		msg.SetKeys(fmt.Sprintf("hello-%d", i)) // indexed by the broker: QueryMessage finds it by key
		// One deadline per send bounds all its retries together.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.Send(ctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("send message %d: %w", i, err)
		}
		fmt.Printf("sent msgId=%s queue=%s:%d offset=%d status=%s\n",
			res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status)
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
