package integration

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// The broker releases: every test here runs against each line (make test's matrix) and checks what
// that line has, what it lacks, and that rocketsend says so instead of doing something else.

// TestVersionFeatures: the broker reports its own release in every response, and each feature
// rocketsend checks is there from the release docs/producer.md names, and refused before it.
func TestVersionFeatures(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_versions")
	newTopic(t, p, topic, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("broker reports its release", func(t *testing.T) {
		for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
			if _, err := p.Send(ctx, message.New(topic, []byte("hello "+b)), send.ToQueue(message.MessageQueue{Topic: topic, BrokerName: b})); err != nil {
				t.Fatal(err)
			}
			v, ok := p.BrokerVersion(cl.BrokerAddr(b))
			if !ok || v != send.VersionOrdinal(cl.Version()) {
				t.Fatalf("%s: broker version %d (%s), %v; want RocketMQ %s (%d)", b, v, send.VersionName(v), ok,
					cl.Version(), send.VersionOrdinal(cl.Version()))
			}
			t.Logf("%s answers as %s", b, send.VersionName(v))
		}
	})

	t.Run("timer delivery", func(t *testing.T) {
		m := message.New(topic, []byte("timer"))
		m.SetDeliverAt(time.Now().Add(2 * time.Second))
		_, err := p.Send(ctx, m)
		if cl.AtLeast(send.FeatureTimer.Since) {
			if err != nil {
				t.Fatalf("timer send to RocketMQ %s: %v", cl.Version(), err)
			}
			return
		}
		var fe *send.FeatureError
		if !errors.As(err, &fe) || fe.Feature != send.FeatureTimer {
			t.Fatalf("timer send to RocketMQ %s: %v, want a FeatureError for timer delivery", cl.Version(), err)
		}
		for _, want := range []string{"TIMER_DELIVER_MS", "5.0.0", cl.Version()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not name %s", err, want)
			}
		}
		t.Log(err)
	})

	t.Run("recall", func(t *testing.T) {
		if !cl.AtLeast(send.FeatureRecall.Since) {
			recallRefused(t, cl, p)
			return
		}
		m := message.New(topic, []byte("recall me"))
		m.SetDeliverAfter(30 * time.Second)
		res, err := p.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.RecallMessage(ctx, topic, res.RecallHandle); err != nil {
			t.Fatalf("recall on RocketMQ %s: %v", cl.Version(), err)
		}
	})

	t.Run("request-reply", func(t *testing.T) {
		// Every tested line has it (4.6.0 added it): the broker pushes the reply to the requester.
		// TestConformanceRequestReply checks it end to end against the Java responder; here only
		// that the broker accepts a reply message and answers for its push.
		reply := message.New(rmqtest.ClusterName+"_REPLY_TOPIC", []byte("unsolicited reply"))
		reply.SetProperty(message.PropertyMessageType, message.ReplyMessageFlag)
		reply.SetProperty(message.PropertyCorrelationID, "no-such-request")
		reply.SetProperty(message.PropertyMessageReplyToClient, "nobody@0")
		reply.SetProperty(message.PropertyCluster, rmqtest.ClusterName)
		_, err := p.Send(ctx, reply, send.ToQueue(message.MessageQueue{Topic: reply.Topic, BrokerName: rmqtest.BrokerA}))
		// The broker took the reply: it stored it (SUCCESS) or found no channel to push it to
		// ("push reply message fail"); which of the two it answers varies (4.9.7 gave both). A
		// broker without the feature would answer REQUEST_CODE_NOT_SUPPORTED.
		if err != nil && (!errors.Is(err, send.ErrSystemError) || !strings.Contains(err.Error(), "push reply message fail")) {
			t.Fatalf("reply to an unknown client on RocketMQ %s: %v", cl.Version(), err)
		}
	})
}

// waitMayBeDropped: a 4.9.x broker sometimes leaves WAIT=true out of what it stores (its
// SendMessageProcessor drops it to save 9 bytes, "it works for most case"), 5.x always stores it.
// RMQ_VERSION names the release of every cluster the tests use (rmq.sh starts that one).
func waitMayBeDropped() bool {
	v := os.Getenv("RMQ_VERSION")
	if v == "" {
		v = rmqtest.DefaultVersion
	}
	return rmqtest.CompareVersions(v, "5.0.0") < 0
}

// recallRefused checks what a broker without RECALL_MESSAGE gets: RecallMessage fails with a
// FeatureError before sending, and the broker itself answers the request code as unknown.
func recallRefused(t *testing.T, cl *rmqtest.Cluster, p *send.Producer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := uniqueTopic("rs_recall_old")
	newTopic(t, p, topic, 1)
	handle := base64.URLEncoding.EncodeToString([]byte("v1 " + topic + " " + rmqtest.BrokerA + " " +
		"1700000001001 7F00000100002A9F0000000000000000"))
	_, err := p.RecallMessage(ctx, topic, handle)
	var fe *send.FeatureError
	if !errors.As(err, &fe) || fe.Feature != send.FeatureRecall || !strings.Contains(err.Error(), cl.Version()) {
		t.Fatalf("recall on RocketMQ %s: %v, want a FeatureError naming the release", cl.Version(), err)
	}
	t.Log(err)
	// The check is not a guess: the broker has no handler for the request.
	w := newWire(t)
	resp := w.invoke(cl.BrokerAddr(rmqtest.BrokerA), codec.NewRequest(codec.RecallMessage, &codec.RecallMessageRequestHeader{
		ProducerGroup: "rs_recall_old", Topic: topic, RecallHandle: handle, BrokerName: rmqtest.BrokerA}, nil))
	if resp.Code != codec.RequestCodeNotSupported {
		t.Fatalf("RECALL_MESSAGE to RocketMQ %s answered %d %q, want REQUEST_CODE_NOT_SUPPORTED", cl.Version(), resp.Code, resp.Remark)
	}
}
