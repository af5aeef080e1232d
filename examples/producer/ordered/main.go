// Command ordered sends the steps of one order as ordered (FIFO) messages: OrderedBy puts every
// message with the same key on the same queue, and a queue is consumed in the order it was
// written. Sending synchronously, one step after the other, keeps that order; concurrent or
// async sends of one key could overtake each other. The queue is the one Java's
// SelectMessageQueueByHash picks for the key, so Go and Java producers of one order agree.
//
// It prints one line per message; every line shows the same queue, with rising offsets:
//
//	sent key=<key> seq=<step> msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/ordered -topic example_ordered -create -key order-42
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
	log.SetPrefix("ordered: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_ordered", "topic to send to")
	key := flag.String("key", "order-42", "ordering key: messages with the same key keep their order")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *key, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic, key string, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_ordered"))
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
	for seq, step := range []string{"created", "paid", "packed", "shipped", "delivered"} {
		msg := message.New(topic, []byte(step))
		msg.SetTags(step)
		msg.SetKeys(key)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A failed attempt is retried on the same queue: moving to another would break the order.
		res, err := p.Send(ctx, msg, send.OrderedBy(key))
		cancel()
		if err != nil {
			// Stop here: sending the next step after a lost one would deliver them out of order.
			return fmt.Errorf("send %s step %d (%s): %w", key, seq, step, err)
		}
		fmt.Printf("sent key=%s seq=%d msgId=%s queue=%s:%d offset=%d status=%s\n",
			key, seq, res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status)
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
