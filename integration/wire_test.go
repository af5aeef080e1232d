// Package integration holds the tests that run against a real Apache RocketMQ cluster started by
// tools/rocketmq. They prove the wire codec and transport against the real thing: what rocketsend
// writes, the broker stores and returns byte for byte.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

const (
	wireGroup   = "rocketsend_wire_test"
	readGroup   = "rocketsend_wire_reader"
	wireQueues  = 4
	callTimeout = 5 * time.Second
)

// wire is a test's view of the cluster: a transport and the broker addresses by name.
type wire struct {
	t       *testing.T
	c       *remote.Client
	ns      string
	brokers map[string]string
}

func newWire(t *testing.T, opts ...remote.Option) *wire {
	t.Helper()
	cl := rmqtest.Start(t)
	c := remote.NewClient(opts...)
	t.Cleanup(func() { _ = c.Close() })
	return &wire{t: t, c: c, ns: cl.NameServer(), brokers: cl.Brokers()}
}

func (w *wire) invoke(addr string, req *codec.Command) *codec.Command {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := w.c.Invoke(ctx, addr, req, time.Time{})
	if err != nil {
		w.t.Fatalf("code %d to %s: %v", req.Code, addr, err)
	}
	return resp
}

// createTopic creates topic on every broker with UPDATE_AND_CREATE_TOPIC, then waits until the
// NameServer routes it to all of them: both the create-topic header and route decoding are
// exercised against the real servers.
func (w *wire) createTopic(topic string) *codec.TopicRouteData {
	w.t.Helper()
	for name, addr := range w.brokers {
		resp := w.invoke(addr, codec.NewRequest(codec.UpdateAndCreateTopic, &codec.CreateTopicRequestHeader{
			Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: wireQueues, WriteQueueNums: wireQueues,
			Perm: codec.PermRead | codec.PermWrite,
		}, nil))
		if resp.Code != codec.Success {
			w.t.Fatalf("create %s on %s: code %d %s", topic, name, resp.Code, resp.Remark)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp := w.invoke(w.ns, codec.NewRequest(codec.GetRouteInfoByTopic,
			&codec.GetRouteInfoRequestHeader{Topic: topic, AcceptStandardJSONOnly: true}, nil))
		if resp.Code == codec.Success {
			rd, err := codec.DecodeTopicRouteData(resp.Body)
			if err != nil {
				w.t.Fatalf("route of %s: %v\n%s", topic, err, resp.Body)
			}
			if len(rd.QueueDatas) == len(w.brokers) {
				return rd
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("route of %s never reached the NameServer (last code %d %s)", topic, resp.Code, resp.Remark)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sent is what the test sent, to compare with what comes back.
type sent struct {
	msg     *message.Message
	sysFlag int32
	born    int64
	queue   int32
	resp    *codec.SendMessageResponseHeader
	broker  string
}

func (w *wire) send(broker, addr string, m *message.Message, queue int32, compress codec.CompressionType) sent {
	w.t.Helper()
	m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
	m.SetSystemProperty(message.PropertyWaitStoreMsgOK, "true")
	body := m.Body
	var sysFlag int32
	if compress != 0 {
		var err error
		if body, err = codec.Compress(nil, m.Body, compress, codec.DefaultCompressLevel); err != nil {
			w.t.Fatal(err)
		}
		sysFlag = compress.SysFlag()
	}
	h := &codec.SendMessageRequestHeader{
		ProducerGroup: wireGroup, Topic: m.Topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: queue, SysFlag: sysFlag, BornTimestamp: time.Now().UnixMilli(), Flag: m.Flag,
		Properties: string(codec.AppendProperties(nil, m.Properties)), BrokerName: broker,
	}
	resp := w.invoke(addr, codec.NewRequest(codec.SendMessageV2, (*codec.SendMessageRequestHeaderV2)(h), body))
	if resp.Code != codec.Success {
		w.t.Fatalf("send to %s: code %d %s", broker, resp.Code, resp.Remark)
	}
	rh, err := codec.DecodeSendMessageResponseHeader(resp)
	if err != nil {
		w.t.Fatal(err)
	}
	if rh.QueueID != queue {
		w.t.Fatalf("stored on queue %d, sent to %d", rh.QueueID, queue)
	}
	return sent{msg: m, sysFlag: sysFlag, born: h.BornTimestamp, queue: queue, resp: rh, broker: broker}
}

// view reads one message back by its offset message id (VIEW_MESSAGE_BY_ID).
func (w *wire) view(addr, offsetMsgID string, decompress bool) *message.MessageExt {
	w.t.Helper()
	host, off, err := codec.DecodeOffsetMsgID(offsetMsgID)
	if err != nil {
		w.t.Fatal(err)
	}
	if host.String() != addr {
		w.t.Fatalf("offset id %s names store host %s, sent to %s", offsetMsgID, host, addr)
	}
	resp := w.invoke(addr, codec.NewRequest(codec.ViewMessageByID, &codec.ViewMessageRequestHeader{Offset: off}, nil))
	if resp.Code != codec.Success {
		w.t.Fatalf("view %s: code %d %s", offsetMsgID, resp.Code, resp.Remark)
	}
	m, n, err := codec.DecodeMessageExt(resp.Body, decompress)
	if err != nil {
		w.t.Fatalf("decode viewed message: %v", err)
	}
	if n != len(resp.Body) {
		w.t.Fatalf("view body has %d bytes after the message", len(resp.Body)-n)
	}
	return m
}

// pull reads up to max messages of one queue from offset (PULL_MESSAGE), without a consumer.
func (w *wire) pull(broker, addr, topic string, queue int32, offset int64, max int32) []*message.MessageExt {
	w.t.Helper()
	// The broker dispatches stored messages to the consume queue asynchronously: right after a
	// send, a pull may find nothing yet, or part of a batch. Poll, bounded, as a consumer would.
	var got []*message.MessageExt
	for deadline := time.Now().Add(10 * time.Second); int32(len(got)) < max; time.Sleep(50 * time.Millisecond) {
		from := offset + int64(len(got))
		resp := w.invoke(addr, codec.NewRequest(codec.PullMessage, &codec.PullMessageRequestHeader{
			ConsumerGroup: readGroup, Topic: topic, QueueID: queue, QueueOffset: from, MaxMsgNums: max - int32(len(got)),
			SysFlag: codec.PullSysFlagSubscription, Subscription: "*", SubVersion: time.Now().UnixMilli(),
			ExpressionType: "TAG", BrokerName: broker,
		}, nil))
		switch resp.Code {
		case codec.Success:
			ph, err := codec.DecodePullMessageResponseHeader(resp)
			if err != nil {
				w.t.Fatal(err)
			}
			ms, err := codec.DecodeMessageExts(resp.Body, true)
			if err != nil {
				w.t.Fatalf("decode pulled messages: %v", err)
			}
			if ph.NextBeginOffset != from+int64(len(ms)) {
				w.t.Fatalf("nextBeginOffset %d after %d messages from %d", ph.NextBeginOffset, len(ms), from)
			}
			got = append(got, ms...)
		case codec.PullNotFound, codec.PullRetryImmediately:
		default:
			w.t.Fatalf("pull %s/%d@%d: code %d %s", topic, queue, from, resp.Code, resp.Remark)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("pull %s/%d@%d: %d of %d messages after 10 s", topic, queue, offset, len(got), max)
		}
	}
	return got
}

// same compares a stored message with what was sent, field by field.
func same(t *testing.T, how string, s sent, got *message.MessageExt, wantSysFlag int32, wantBody []byte) {
	t.Helper()
	var errs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: got %v, sent %v", field, g, w))
		}
	}
	m := s.msg
	check("topic", got.Topic == m.Topic, got.Topic, m.Topic)
	check("tags", got.Tags() == m.Tags(), got.Tags(), m.Tags())
	check("keys", strings.Join(got.Keys(), " ") == strings.Join(m.Keys(), " "), got.Keys(), m.Keys())
	check("flag", got.Flag == m.Flag, got.Flag, m.Flag)
	check("sysflag", got.SysFlag == wantSysFlag, got.SysFlag, wantSysFlag)
	check("born timestamp", got.BornTimestamp == s.born, got.BornTimestamp, s.born)
	check("body", bytes.Equal(got.Body, wantBody), len(got.Body), len(wantBody))
	check("queue", got.QueueID == s.queue, got.QueueID, s.queue)
	check("queue offset", got.QueueOffset == s.resp.QueueOffset, got.QueueOffset, s.resp.QueueOffset)
	check("msgId", got.MsgID == m.UniqID(), got.MsgID, m.UniqID())
	check("offsetMsgId", got.OffsetMsgID == s.resp.MsgID || s.resp.MsgID == "", got.OffsetMsgID, s.resp.MsgID)
	check("born host", got.BornHost.Addr() == netip.MustParseAddr("127.0.0.1"), got.BornHost, "127.0.0.1:*")
	for k, v := range m.Properties {
		if k == message.PropertyWaitStoreMsgOK && got.Properties[k] == "" && waitMayBeDropped() {
			continue
		}
		check("property "+k, got.Properties[k] == v, got.Properties[k], v)
	}
	// The broker adds a few properties of its own; anything else would be a decoding error.
	extra := maps.Clone(got.Properties)
	for k := range m.Properties {
		delete(extra, k)
	}
	for _, k := range []string{"CLUSTER", "MIN_OFFSET", "MAX_OFFSET", "MSG_REGION", "TRACE_ON"} {
		delete(extra, k)
	}
	check("unexpected properties", len(extra) == 0, extra, "none")
	if len(errs) > 0 {
		t.Errorf("%s: message %s differs:\n  %s", how, m.UniqID(), strings.Join(errs, "\n  "))
	}
}

func userMessage(topic string, body []byte) *message.Message {
	m := message.New(topic, body)
	m.Flag = 0x5A5A
	m.SetTags("TagA")
	m.SetKeys("order-1", "cust-7")
	m.SetProperty("unicode", "héllo wörld ✓ 日本語")
	m.SetProperty("trace.id", "00-abc-01")
	m.SetProperty("empty-looking", " ")
	return m
}

func TestSendAndReadBackEveryBroker(t *testing.T) {
	for _, st := range []codec.SerializeType{codec.SerializeRocketMQ, codec.SerializeJSON} {
		t.Run(st.String(), func(t *testing.T) {
			w := newWire(t, remote.WithSerializeType(st))
			topic := "rs_wire_plain_" + st.String()
			w.createTopic(topic)
			for broker, addr := range w.brokers {
				for q := int32(0); q < 2; q++ {
					s := w.send(broker, addr, userMessage(topic, []byte("hello from rocketsend "+broker)), q, 0)
					same(t, "view "+broker, s, w.view(addr, s.resp.MsgID, true), 0, s.msg.Body)
					ms := w.pull(broker, addr, topic, q, s.resp.QueueOffset, 1)
					if len(ms) != 1 {
						t.Fatalf("pull returned %d messages", len(ms))
					}
					same(t, "pull "+broker, s, ms[0], 0, s.msg.Body)

					max := w.invoke(addr, codec.NewRequest(codec.GetMaxOffset, &codec.GetMaxOffsetRequestHeader{
						QueueRequestHeader: codec.QueueRequestHeader{Topic: topic, QueueID: q, BrokerName: broker}}, nil))
					if off, err := codec.DecodeOffsetResponse(max); err != nil || off != s.resp.QueueOffset+1 {
						t.Fatalf("max offset %d (%v), want %d", off, err, s.resp.QueueOffset+1)
					}
				}
			}
		})
	}
}

func TestCompressedEachAlgorithm(t *testing.T) {
	w := newWire(t)
	topic := "rs_wire_compressed"
	w.createTopic(topic)
	body := bytes.Repeat([]byte("rocketsend compresses bodies over the threshold; "), 400)
	for broker, addr := range w.brokers {
		for _, typ := range []codec.CompressionType{codec.Zlib, codec.LZ4, codec.Zstd} {
			s := w.send(broker, addr, userMessage(topic, body), 1, typ)
			// Raw, the broker keeps the compressed body and the type bits we set.
			raw := w.view(addr, s.resp.MsgID, false)
			if raw.SysFlag != typ.SysFlag() || len(raw.Body) >= len(body) {
				t.Fatalf("%s: stored sysflag %#x body %d bytes", typ, raw.SysFlag, len(raw.Body))
			}
			// Decoded as Java's client decodes it: inflated, compressed flag cleared.
			want := typ.SysFlag() &^ codec.SysFlagCompressed
			same(t, "view "+typ.String(), s, w.view(addr, s.resp.MsgID, true), want, body)
			ms := w.pull(broker, addr, topic, 1, s.resp.QueueOffset, 1)
			same(t, "pull "+typ.String(), s, ms[0], want, body)
		}
	}
}

func TestBatch(t *testing.T) {
	w := newWire(t)
	topic := "rs_wire_batch"
	w.createTopic(topic)
	for broker, addr := range w.brokers {
		var msgs []*message.Message
		for i := 0; i < 3; i++ {
			m := userMessage(topic, []byte(fmt.Sprintf("batch message %d on %s", i, broker)))
			m.SetKeys(fmt.Sprintf("batch-%d", i))
			m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
			m.SetSystemProperty(message.PropertyWaitStoreMsgOK, "true")
			msgs = append(msgs, m)
		}
		born := time.Now().UnixMilli()
		h := &codec.SendMessageRequestHeader{
			ProducerGroup: wireGroup, Topic: topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
			QueueID: 2, BornTimestamp: born, Batch: true, BrokerName: broker,
			// The broker appends the wrapper's properties to every inner message's, and readers
			// keep the last value of a repeated name: a UNIQ_KEY here (Java puts one) would
			// replace every message's own id. Only what all messages share goes here.
			Properties: string(codec.AppendProperties(nil, map[string]string{message.PropertyWaitStoreMsgOK: "true"})),
		}
		resp := w.invoke(addr, codec.NewRequest(codec.SendBatchMessage, (*codec.SendMessageRequestHeaderV2)(h),
			codec.EncodeBatch(nil, msgs)))
		if resp.Code != codec.Success {
			t.Fatalf("batch to %s: code %d %s", broker, resp.Code, resp.Remark)
		}
		rh, err := codec.DecodeSendMessageResponseHeader(resp)
		if err != nil {
			t.Fatal(err)
		}
		ids := codec.SplitMsgIDs(rh.MsgID)
		if len(ids) != len(msgs) {
			t.Fatalf("batch response lists %d ids for %d messages: %q", len(ids), len(msgs), rh.MsgID)
		}
		pulled := w.pull(broker, addr, topic, 2, rh.QueueOffset, int32(len(msgs)))
		if len(pulled) != len(msgs) {
			t.Fatalf("pulled %d of %d batch messages", len(pulled), len(msgs))
		}
		for i, m := range msgs {
			s := sent{msg: m, born: born, queue: 2, broker: broker,
				resp: &codec.SendMessageResponseHeader{MsgID: ids[i], QueueOffset: rh.QueueOffset + int64(i)}}
			same(t, fmt.Sprintf("batch view %d", i), s, w.view(addr, ids[i], true), 0, m.Body)
			same(t, fmt.Sprintf("batch pull %d", i), s, pulled[i], 0, m.Body)
		}
	}
}
