// Command request asks questions and waits for the answers (RocketMQ's request-reply): Request
// sends a message carrying this producer's client id and a correlation id, a responder (any
// RocketMQ consumer of the topic that sends a reply message) answers, and the broker pushes the
// reply straight back to this producer. It is a remote call over the broker, for when the answer
// matters more than the decoupling.
//
// A responder must be consuming the topic, or every request waits until its deadline. The test of
// this program uses the official Java client's one (tools/javapeer: MessageUtil.createReplyMessage,
// answering "reply:" + the request body).
//
// It prints one line per request:
//
//	reply request=<request body, quoted> body=<reply body, quoted> rtt=<round trip>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start) with a responder on the topic:
//
//	go run ./examples/producer/request -topic example_request
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
	log.SetPrefix("request: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_request", "topic the responder consumes")
	n := flag.Int("n", 3, "requests to send, one after the other")
	timeout := flag.Duration("timeout", 10*time.Second, "how long to wait for each reply")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *timeout, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic string, n int, timeout time.Duration, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_request"))
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
		question := fmt.Sprintf("question %d", i)
		// The deadline bounds the wait for the reply, and the request carries what is left of it
		// (its TTL) so that the responder can tell how long the answer is still wanted.
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		start := time.Now()
		reply, err := p.Request(ctx, message.New(topic, []byte(question)))
		cancel()
		if err != nil {
			return fmt.Errorf("request %q: %w", question, err)
		}
		fmt.Printf("reply request=%q body=%q rtt=%v\n", question, reply.Body, time.Since(start).Round(time.Millisecond))
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
