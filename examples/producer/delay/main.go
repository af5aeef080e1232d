// Command delay sends two messages that consumers see only later: one with a delay level, one
// with a timer.
//
// A delay level (SetDelayLevel) is one of the broker's fixed delays (level 1..18 is 1s 5s 10s 30s
// 1m 2m ... 2h by default) and works on every broker version. A timer (SetDeliverAfter,
// SetDeliverAt) asks for any time up to three days ahead, to the second, but only RocketMQ 5
// brokers with timerWheelEnable honour it; an older broker would deliver such a message at once,
// so the producer refuses to send it there with an error matching send.ErrFeatureUnsupported, and
// this program says so and skips it.
// Either way the send returns as soon as the broker stored the message, parked in a system topic
// of its own (SCHEDULE_TOPIC_XXXX, rmq_sys_wheel_timer) until it is due: the offset a delayed send
// reports is the one in that system topic, not in the message's own queue.
//
// It prints one line per message:
//
//	sent delay=level:<level> msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//	sent delay=timer:<duration> msgId=<client id> queue=<broker>:<queue id> offset=<queue offset> status=<send status>
//
// or, against a 4.x broker, for the second:
//
//	skipped delay=timer:<duration>: <why>
//
// Run it against a local cluster (tools/rocketmq/rmq.sh start):
//
//	go run ./examples/producer/delay -topic example_delay -create -level 2 -after 10s
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
	log.SetPrefix("delay: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_delay", "topic to send to")
	level := flag.Int("level", 2, "delay level of the first message (2 is 5 s on a default broker)")
	after := flag.Duration("after", 10*time.Second, "timer delay of the second message (whole seconds)")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if err := run(*namesrv, *topic, *level, *after, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic string, level int, after time.Duration, create bool) (err error) {
	p, err := send.New(send.WithNameServers(strings.Split(namesrv, ";")...), send.WithGroup("example_delay"))
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

	byLevel := message.New(topic, fmt.Appendf(nil, "delayed by level %d", level))
	byLevel.SetDelayLevel(level)
	if err := sendAndPrint(p, byLevel, fmt.Sprintf("level:%d", level)); err != nil {
		return err
	}

	byTimer := message.New(topic, fmt.Appendf(nil, "delayed by a timer of %v", after))
	// The broker counts from when it stores the message, so a slow send does not shorten the delay.
	byTimer.SetDeliverAfter(after)
	err = sendAndPrint(p, byTimer, "timer:"+after.String())
	if errors.Is(err, send.ErrFeatureUnsupported) {
		// The broker chosen runs a release before 5.0: nothing was sent.
		fmt.Printf("skipped delay=timer:%v: %v\n", after, err)
		return nil
	}
	return err
}

func sendAndPrint(p *send.Producer, msg *message.Message, delay string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Send(ctx, msg)
	if err != nil {
		return fmt.Errorf("send delay=%s: %w", delay, err)
	}
	fmt.Printf("sent delay=%s msgId=%s queue=%s:%d offset=%d status=%s\n",
		delay, res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status)
	return nil
}

// defaultNameServer is where Java clients look too: NAMESRV_ADDR, else the local default.
func defaultNameServer() string {
	if a := os.Getenv("NAMESRV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9876"
}
