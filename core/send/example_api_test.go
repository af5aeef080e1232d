package send_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// A timer message can be cancelled before it is delivered: its send result carries a recall
// handle (RocketMQ 5.3.2+ brokers started with recallMessageEnable=true).
func ExampleProducer_RecallMessage() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("reminders"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := message.New("reminders", []byte("pay invoice 42"))
	m.SetDeliverAfter(24 * time.Hour)
	res, err := p.Send(ctx, m)
	if err != nil {
		log.Fatal(err)
	}
	// Later, the invoice was paid: the reminder must not go out.
	id, err := p.RecallMessage(ctx, "reminders", res.RecallHandle)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("recalled", id == res.MsgID)
}

// ViewMessageByID reads a message back by either id a send returned: the client id (MsgID, found
// through the broker's index) or the broker's offset id (OffsetMsgID, read directly).
func ExampleProducer_ViewMessageByID() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Send(ctx, message.New("orders", []byte(`{"id":42}`)))
	if err != nil {
		log.Fatal(err)
	}
	// The index is built a moment after the message is stored.
	m, err := p.ViewMessageByID(ctx, "orders", res.MsgID)
	if errors.Is(err, send.ErrMessageNotFound) {
		time.Sleep(time.Second)
		m, err = p.ViewMessageByID(ctx, "orders", res.MsgID)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s stored on queue %d at offset %d\n", m.Body, m.QueueID, m.QueueOffset)
}

// FetchPublishMessageQueues lists the queues a topic can be sent to, fresh from the NameServer;
// with ToQueue a send picks one itself.
func ExampleProducer_FetchPublishMessageQueues() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	queues, err := p.FetchPublishMessageQueues(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	last := queues[len(queues)-1]
	if _, err := p.Send(ctx, message.New("orders", []byte("to the last queue")), send.ToQueue(last)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(queues), "queues")
}
