package rocketsend_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// sendAlone is the README's "producer alone" snippet, verbatim (internal/snippets checks that the
// README's lines appear here), so that it compiles and cannot rot.
func sendAlone(ctx context.Context) error {
	p, err := send.New(send.WithNameServers("127.0.0.1:9876"), send.WithGroup("orders"))
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	defer p.Shutdown(context.Background())

	m := message.New("Orders", []byte(`{"id":42}`))
	m.SetTags("created")
	m.SetKeys("order-42")
	res, err := p.Send(ctx, m, send.OrderedBy("customer-7")) // same queue as Java's hash selector
	if err != nil {
		return err
	}
	fmt.Println(res.MsgID)
	return nil
}

// The producer alone, without a configuration file or plugins (core/send).
func Example_producerAlone() {
	if err := sendAlone(context.Background()); err != nil {
		log.Fatal(err)
	}
}
