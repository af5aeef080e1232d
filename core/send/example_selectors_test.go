package send_test

import (
	"fmt"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// queues is a topic's route as the producer orders it: by broker name, then queue id.
var queues = []message.MessageQueue{
	{Topic: "orders", BrokerName: "broker-a", QueueID: 0},
	{Topic: "orders", BrokerName: "broker-a", QueueID: 1},
	{Topic: "orders", BrokerName: "broker-b", QueueID: 0},
	{Topic: "orders", BrokerName: "broker-b", QueueID: 1},
}

// HashJava keeps every message of an order on one queue, the same queue a Java producer using
// SelectMessageQueueByHash picks for that order id.
func ExampleHashJava() {
	sel := send.HashJava()
	for _, orderID := range []string{"order-10086", "hello", "order-10086"} {
		q, err := sel.Select(nil, queues, orderID)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s -> %s/%d (Java hashCode %d)\n", orderID, q.BrokerName, q.QueueID, send.JavaStringHashCode(orderID))
	}
	_, err := sel.Select(nil, queues, nil)
	fmt.Println(err)
	// Output:
	// order-10086 -> broker-a/0 (Java hashCode 478770544)
	// hello -> broker-b/0 (Java hashCode 99162322)
	// order-10086 -> broker-a/0 (Java hashCode 478770544)
	// send: HashJava: hash selector needs a key: pass the sharding key (an order id, a message group) as the selector arg
}

// RoundRobin spreads messages over the queues in turn; RoundRobinFactory gives each topic its own
// counter.
func ExampleRoundRobin() {
	sel := send.RoundRobinFactory().SelectorFor("orders")
	for i := 0; i < 6; i++ {
		q, _ := sel.Select(nil, queues, nil)
		fmt.Printf("%s/%d\n", q.BrokerName, q.QueueID)
	}
	// Output:
	// broker-a/0
	// broker-a/1
	// broker-b/0
	// broker-b/1
	// broker-a/0
	// broker-a/1
}
