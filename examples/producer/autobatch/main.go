// Command autobatch sends messages with SendAsync on a producer with auto-batching on
// (send.WithAutoBatch, Java's setAutoBatch): the producer holds each message for up to the batch
// delay and sends those for one queue as one request, while every message keeps its own id, its own
// SendResult and its own callback.
//
// It prints one line per message, in the order the answers arrive, then how many send requests
// carried them (counted by an RPC hook on the wire):
//
//	sent msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//	autobatch messages=<n> requests=<send requests>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/autobatch -topic example_autobatch -create
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("autobatch: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_autobatch", "topic to send to")
	n := flag.Int("n", 20, "messages to send")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *create); err != nil {
		log.Fatal(err)
	}
}

// sendRequests counts the send requests on the wire: it shows the messages sharing requests.
type sendRequests struct{ n atomic.Int64 }

func (s *sendRequests) BeforeRequest(_ string, req *send.Command) error {
	if req.Code == send.RequestSendMessageV2 || req.Code == send.RequestSendBatchMessage {
		s.n.Add(1)
	}
	return nil
}

func (s *sendRequests) AfterResponse(string, *send.Command, *send.Command, error) {}

type outcome struct {
	res *message.SendResult
	err error
}

func run(namesrv, topic string, n int, create bool) (err error) {
	var wire sendRequests
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_autobatch"),
		// Hold a message for up to 20 ms (Java's default is 10 ms); a batch whose bodies pass
		// 32 KiB (the default) goes at once.
		send.WithAutoBatch(true), send.WithBatchMaxDelay(20*time.Millisecond),
		send.WithRPCHooks(&wire))
	if err != nil {
		return err
	}
	if err := p.Start(context.Background()); err != nil {
		return err
	}
	defer func() {
		// Shutdown sends what is still held at once and waits for every callback.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := p.Shutdown(ctx); err == nil {
			err = serr
		}
	}()
	if create {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	before := wire.n.Load() // CreateTopic sent none, but count from here anyway
	done := make(chan outcome, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := 0
	for i := range n {
		msg := message.New(topic, fmt.Appendf(nil, "auto-batched %d", i))
		msg.SetKeys(fmt.Sprintf("autobatch-%d", i))
		err := p.SendAsync(ctx, msg, func(res *message.SendResult, err error) {
			done <- outcome{res, err}
		})
		if err != nil {
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
	fmt.Printf("autobatch messages=%d requests=%d\n", started, wire.n.Load()-before)
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
