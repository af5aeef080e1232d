// Command transaction publishes order events only when the order's local transaction commits.
//
// SendInTransaction stores the message as a half message that no consumer sees, runs the local
// transaction (here: recording the order in a ledger standing in for the application's database),
// and then tells the broker to commit (deliver) or roll back (discard). When the producer cannot
// tell the outcome (the local transaction failed midway, or the producer died), the broker asks
// the producer group later, and the TransactionChecker answers from the ledger, the durable truth.
//
// Three orders show the three outcomes: order-1 commits, order-2 rolls back (payment declined),
// order-3 commits in the ledger but its local transaction reports an error, so its outcome is
// unknown until the broker's check-back, which the program waits for (-wait).
//
// It prints one line per transaction, then one per check-back the broker makes:
//
//	tx key=<order> msgId=<client id> queue=<broker>:<queue id> state=<COMMIT_MESSAGE|ROLLBACK_MESSAGE|UNKNOW>
//	checked key=<order> msgId=<client id> state=<COMMIT_MESSAGE|ROLLBACK_MESSAGE>
//
// (UNKNOW is Java's spelling of the unknown state.) Run it against a local cluster
// (tools/rocketmq/rmq.sh start, whose brokers check back after 2 s; a default broker waits a
// minute):
//
//	go run ./examples/producer/transaction -topic example_tx -create
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("transaction: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_tx", "topic to send to")
	group := flag.String("group", "example_tx", "producer group: the broker sends check-backs to it")
	wait := flag.Duration("wait", 90*time.Second, "how long to wait for the check-back of the unknown transaction")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *group, *wait, *create); err != nil {
		log.Fatal(err)
	}
}

// ledger stands for the application's database: the outcome of every order it processed.
type ledger struct {
	mu     sync.Mutex
	orders map[string]send.LocalTransactionState
}

func (l *ledger) record(order string, s send.LocalTransactionState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.orders[order] = s
}

func (l *ledger) lookup(order string) (send.LocalTransactionState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.orders[order]
	return s, ok
}

// check is one check-back, handed to the main goroutine so that it does all the printing.
type check struct {
	order, msgID string
	state        send.LocalTransactionState
}

func run(namesrv, topic, group string, wait time.Duration, create bool) (err error) {
	db := &ledger{orders: map[string]send.LocalTransactionState{}}
	checks := make(chan check, 64)
	checker := send.TransactionCheckerFunc(func(_ context.Context, m *message.MessageExt) send.LocalTransactionState {
		order := strings.Join(m.Keys(), " ")
		state, ok := db.lookup(order)
		if !ok {
			// No trace of the order: its local transaction never committed.
			state = send.RollbackMessage
		}
		select {
		case checks <- check{order, m.MsgID, state}:
		default: // never block the producer for the sake of printing
		}
		return state
	})
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...),
		send.WithGroup(group), send.WithTransactionChecker(checker))
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

	// The local transaction runs after the half message is stored and before the broker learns
	// the outcome. An error makes the outcome unknown, whatever state it returns.
	local := func(_ context.Context, msg *message.Message, _ *message.SendResult) (send.LocalTransactionState, error) {
		switch order := strings.Join(msg.Keys(), " "); order {
		case "order-2":
			db.record(order, send.RollbackMessage)
			return send.RollbackMessage, nil
		case "order-3":
			db.record(order, send.CommitMessage)
			return send.Unknown, errors.New("database committed, but its acknowledgement was lost")
		default:
			db.record(order, send.CommitMessage)
			return send.CommitMessage, nil
		}
	}
	unknown := map[string]bool{} // message ids whose outcome only a check-back settles
	for _, order := range []string{"order-1", "order-2", "order-3"} {
		msg := message.New(topic, fmt.Appendf(nil, "%s placed", order))
		msg.SetKeys(order) // the checker finds the order by it
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.SendInTransaction(ctx, msg, local)
		cancel()
		if err != nil {
			return fmt.Errorf("transaction %s: %w", order, err)
		}
		fmt.Printf("tx key=%s msgId=%s queue=%s:%d state=%s\n",
			order, res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.State)
		if res.State == send.Unknown {
			unknown[res.MsgID] = true
		}
	}

	deadline := time.After(wait)
	for len(unknown) > 0 {
		select {
		case c := <-checks:
			fmt.Printf("checked key=%s msgId=%s state=%s\n", c.order, c.msgID, c.state)
			delete(unknown, c.msgID)
		case <-deadline:
			return fmt.Errorf("no check-back within %v for %d transaction(s); the broker keeps asking group %s",
				wait, len(unknown), group)
		}
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
