package send_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// These examples need a running RocketMQ cluster, so they are compiled and vetted but not run
// (they have no Output comment). Each has a complete program in examples/producer/<mode> that
// examples/producer's test builds and runs against a real local cluster.

// A producer is configured once, with options that New checks together, and started before
// the first send. Shutdown lets async sends in flight finish and unregisters from the brokers,
// which otherwise keep the producer listed until its heartbeat times out.
func ExampleNew() {
	p, err := send.New(
		send.WithNameServers("127.0.0.1:9876"),
		// The group names the application to brokers, and routes transaction check-backs.
		send.WithGroup("order_service"),
		// One budget for every attempt of a send, not per attempt.
		send.WithSendTimeout(5*time.Second),
		send.WithRetries(2),
		// Bodies from 4 KiB on are compressed; zlib is what every consumer version reads.
		send.WithCompression(4096, send.CompressZlib, 5),
		send.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	)
	if err != nil {
		log.Fatal(err) // every invalid option, joined
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()
	// ... send from any number of goroutines ...
}

// A synchronous send returns once the broker stored the message, retrying on another broker within
// the send timeout, so the caller knows where the message landed. The runnable program is
// examples/producer/sync.
func ExampleProducer_Send() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	msg := message.New("orders", []byte(`{"id":10086,"state":"created"}`))
	msg.SetTags("created")
	msg.SetKeys("order-10086") // indexed by the broker, for QueryMessage
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Send(ctx, msg)
	if err != nil {
		var be *send.BrokerError
		if errors.As(err, &be) {
			log.Printf("broker %s refused: %d %s", be.Broker, be.Code, be.Remark)
		}
		log.Print(err)
		return
	}
	fmt.Printf("sent msgId=%s queue=%s:%d offset=%d status=%s\n",
		res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status)
}

// Async sends keep many messages in flight from one goroutine. The callback runs on one of the
// producer's goroutines, exactly once for every SendAsync that returned nil, so it hands the
// result on rather than doing slow work. The runnable program is examples/producer/async.
func ExampleProducer_SendAsync() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	var wg sync.WaitGroup
	for i := range 10 {
		msg := message.New("orders", fmt.Appendf(nil, "event %d", i))
		wg.Add(1)
		// ctx bounds only the wait for room when too many sends are in flight.
		err := p.SendAsync(context.Background(), msg, func(res *message.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				log.Print(err)
				return
			}
			fmt.Println("sent", res.MsgID, res.Queue)
		})
		if err != nil { // the callback will not run
			wg.Done()
			log.Print(err)
		}
	}
	wg.Wait()
}

// A oneway send writes the message and returns: no answer, no retry, no result, for data whose
// occasional loss is acceptable. The message carries the id the producer gave it. The runnable
// program is examples/producer/oneway.
func ExampleProducer_SendOneway() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("metrics_agent"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	msg := message.New("metrics", []byte("cpu=0.42"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.SendOneway(ctx, msg); err != nil {
		log.Print(err) // no route, no connection: the message was not written
		return
	}
	fmt.Println("written", msg.UniqID())
}

// A batch sends many small messages of one topic in as few requests as the maximum message size
// allows. Each result stands for one request: its MsgID lists the ids of the messages it carried,
// stored on one queue at consecutive offsets. The runnable program is examples/producer/batch.
func ExampleProducer_SendBatch() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	var msgs []*message.Message
	for i := range 100 {
		msgs = append(msgs, message.New("orders", fmt.Appendf(nil, "line item %d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	br, err := p.SendBatch(ctx, msgs)
	var partial *send.BatchError
	if errors.As(err, &partial) {
		// Part of the batch is stored: resend only what was not, so nothing is sent twice.
		log.Printf("%d stored, %d not sent: %v", len(partial.Sent.Messages), len(partial.Unsent), partial.Err)
		return
	}
	if err != nil {
		log.Print(err)
		return
	}
	for _, res := range br.Messages {
		fmt.Printf("sent msgId=%s queue=%s:%d offset=%d\n", res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset)
	}
}

// OrderedBy keeps the messages of one key (an order id) on one queue, so consumers see them in
// the order they were sent. Send them synchronously, one after the other: concurrent sends of one
// key may overtake each other. The queue is the one Java's SelectMessageQueueByHash picks, so Go
// and Java producers of one key agree. The runnable program is examples/producer/ordered.
func ExampleOrderedBy() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	for _, step := range []string{"created", "paid", "shipped"} {
		msg := message.New("order_events", []byte(step))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := p.Send(ctx, msg, send.OrderedBy("order-10086"))
		cancel()
		if err != nil {
			// Stop: sending the next step after a lost one would deliver them out of order.
			log.Print(err)
			return
		}
		fmt.Println(step, "->", res.Queue)
	}
}

// A transactional send publishes the message only if the local transaction commits. The checker
// answers the broker when the outcome was not reported (the local transaction failed or the
// process died), from the application's durable state. The group must be the application's own:
// the broker sends check-backs to it. The runnable program is examples/producer/transaction.
func ExampleProducer_SendInTransaction() {
	// orders stands for the application's database.
	var orders sync.Map
	checker := send.TransactionCheckerFunc(func(_ context.Context, m *message.MessageExt) send.LocalTransactionState {
		if _, ok := orders.Load(m.Property("order")); ok {
			return send.CommitMessage
		}
		return send.RollbackMessage
	})
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service_tx"),
		send.WithTransactionChecker(checker))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	msg := message.New("order_events", []byte("order 10086 placed"))
	msg.SetProperty("order", "10086")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.SendInTransaction(ctx, msg, func(_ context.Context, m *message.Message, _ *message.SendResult) (send.LocalTransactionState, error) {
		// Runs after the broker stored the half message; an error leaves the outcome to the checker.
		orders.Store(m.Property("order"), true)
		return send.CommitMessage, nil
	})
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Println(res.MsgID, res.State)
}

// Request sends a message and waits for a responder's reply, which the broker pushes back to this
// producer: a remote call over RocketMQ. A responder must consume the topic; the context's
// deadline bounds the wait. The runnable program is examples/producer/request, whose test answers
// it with the official Java client.
func ExampleProducer_Request() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("price_client"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	reply, err := p.Request(ctx, message.New("price_requests", []byte("sku-42")))
	if errors.Is(err, send.ErrTimeout) {
		log.Print("no reply in time: is a responder consuming price_requests?")
		return
	}
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Printf("reply: %s\n", reply.Body)
}
