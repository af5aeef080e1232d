// Command batch sends several messages of one topic in a single call: SendBatch packs them into
// as few SEND_BATCH_MESSAGE requests as the maximum message size allows, so small messages cost
// one round trip instead of one each. Every message keeps its own id; the messages of one request
// land on one queue, one after the other.
//
// It prints one line per message, then a summary:
//
//	sent msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//	batch messages=<n> requests=<requests the batch was split into>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/batch -topic example_batch -create
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
	log.SetPrefix("batch: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_batch", "topic to send to")
	n := flag.Int("n", 10, "messages in the batch")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *n, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic string, n int, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_batch"))
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
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = message.New(topic, fmt.Appendf(nil, "batch item %d", i))
		msgs[i].SetKeys(fmt.Sprintf("item-%d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	br, err := p.SendBatch(ctx, msgs)
	if err != nil {
		// A *send.BatchError would say which messages were stored before the failure.
		return fmt.Errorf("send batch: %w", err)
	}
	// One result per message: its id and where it was stored.
	for _, res := range br.Messages {
		fmt.Printf("sent msgId=%s queue=%s:%d offset=%d status=%s\n",
			res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status)
	}
	fmt.Printf("batch messages=%d requests=%d\n", len(br.MsgIDs), len(br.Results))
	return nil
}

// defaultNameServer is where Java clients look too: NAMESRV_ADDR, else the local default.
func defaultNameServer() string {
	if a := os.Getenv("NAMESRV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9876"
}
