package send_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// What a failed send says, with nothing imported but send and message: the broker's code as a
// sentinel, whether the message may have reached the broker, whether trying again may help.
func ExampleIsRetriable() {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("order_service"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	// One key, one queue, one attempt (as Java's selector sends); 10 s for this send alone.
	_, err = p.Send(context.Background(), message.New("Orders", []byte("created")),
		send.OrderedBy("order-42"), send.WithTimeout(10*time.Second))
	var be *send.BrokerError
	switch {
	case err == nil:
	case errors.Is(err, send.ErrNoPermission):
		log.Printf("not writable (or ACL refused): %v", err)
	case errors.As(err, &be):
		log.Printf("broker %s answered %d: %s", be.Broker, be.Code, be.Remark)
	case errors.Is(err, send.ErrConnect):
		log.Printf("never connected, the broker does not have it: %v", err)
	case errors.Is(err, send.ErrConnClosed), errors.Is(err, send.ErrTimeout):
		log.Printf("the broker may have stored it: %v", err)
	}
	if send.IsRetriable(err) {
		log.Print("sending again may succeed")
	}
}

// A selector that does not care about order opts in to retries on another broker.
func ExampleWithRetry() {
	zone := send.QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
		return qs[0], nil // the first queue of the nearest broker that is offered
	})
	_ = send.WithSelector(send.WithRetry(zone, send.RetryReselect), nil)
}
