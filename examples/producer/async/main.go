// Command async sends a few messages without waiting for each one: SendAsync returns at once and a
// callback receives the broker's answer later, so many sends can be in flight together.
//
// It prints one line per message, in the order the answers arrive (not the order of the sends):
//
//	sent msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/async -topic example_async -create
package main

import (
	"context"
	"errors"
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
	log.SetPrefix("async: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_async", "topic to send to")
	n := flag.Int("n", 5, "messages to send")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *create); err != nil {
		log.Fatal(err)
	}
}

// outcome carries one callback's result to the main goroutine, which does all the printing: the
// callbacks run on the producer's own goroutines and must not block it for long.
type outcome struct {
	res *message.SendResult
	err error
}

func run(namesrv, topic string, n int, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_async"))
	if err != nil {
		return err
	}
	if err := p.Start(context.Background()); err != nil {
		return err
	}
	defer func() {
		// Shutdown waits (until its deadline) for async sends still in flight and runs every
		// pending callback before it returns.
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
	// Buffered for every send, so no callback ever waits on this goroutine.
	done := make(chan outcome, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := 0
	for i := range n {
		msg := message.New(topic, fmt.Appendf(nil, "async %d", i))
		msg.SetKeys(fmt.Sprintf("async-%d", i))
		// ctx bounds only the wait for room when too many sends are in flight; the send itself
		// is bounded by the producer's send timeout.
		err := p.SendAsync(ctx, msg, func(res *message.SendResult, err error) {
			done <- outcome{res, err}
		})
		if err != nil { // the callback will not run for this message
			log.Printf("message %d not sent: %v", i, err)
			continue
		}
		started++
	}
	var errs []error
	for range started {
		o := <-done
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		fmt.Printf("sent msgId=%s queue=%s:%d offset=%d status=%s\n",
			o.res.MsgID, o.res.Queue.BrokerName, o.res.Queue.QueueID, o.res.QueueOffset, o.res.Status)
	}
	if started < n {
		errs = append(errs, fmt.Errorf("%d of %d messages could not be handed to the producer", n-started, n))
	}
	return errors.Join(errs...)
}

// defaultNameServer is where Java clients look too: NAMESRV_ADDR, else the local default.
func defaultNameServer() string {
	if a := os.Getenv("NAMESRV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9876"
}
