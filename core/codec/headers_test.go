package codec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// frSendHeader is a fully populated send header (every optional field set).
func frSendHeader() *SendMessageRequestHeader {
	return &SendMessageRequestHeader{
		ProducerGroup:         "please_rename_unique_group_name",
		Topic:                 "TopicTest",
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               -1,
		SysFlag:               4,
		BornTimestamp:         1700000000123,
		Flag:                  7,
		Properties:            "UNIQ_KEY\x017F0000011E3C18B4AAC25D6A4D7A0000\x02WAIT\x01true\x02TAGS\x01TagA\x02",
		ReconsumeTimes:        2,
		UnitMode:              true,
		Batch:                 true,
		MaxReconsumeTimes:     16,
		BrokerName:            "broker-a",
	}
}

// frAllHeaders returns one populated value of every typed header in the package.
func frAllHeaders() map[string]HeaderEncoder {
	return map[string]HeaderEncoder{
		"SendMessageRequestHeader":   frSendHeader(),
		"SendMessageRequestHeaderV2": (*SendMessageRequestHeaderV2)(frSendHeader()),
		"SendMessageResponseHeader": &SendMessageResponseHeader{MsgID: "7F00000100002A9F0000000000000000",
			QueueID: 1, QueueOffset: 12, TransactionID: "tx", BatchUniqID: "bu", RecallHandle: "rh",
			RegionID: "DefaultRegion", TraceOn: true},
		"GetRouteInfoRequestHeader":     &GetRouteInfoRequestHeader{Topic: "TestTopic", AcceptStandardJSONOnly: true},
		"UnregisterClientRequestHeader": &UnregisterClientRequestHeader{ClientID: "127.0.0.1@1#2", ProducerGroup: "pg", ConsumerGroup: "cg"},
		"QueueRequestHeader":            &QueueRequestHeader{Topic: "T", QueueID: 3, BrokerName: "broker-a"},
		"GetMaxOffsetRequestHeader":     &GetMaxOffsetRequestHeader{QueueRequestHeader{Topic: "T", QueueID: 3, BrokerName: "broker-a"}, false},
		"SearchOffsetRequestHeader": &SearchOffsetRequestHeader{QueueRequestHeader{Topic: "T", QueueID: 3, BrokerName: "broker-a"},
			1700000000000, BoundaryUpper},
		"ViewMessageRequestHeader":  &ViewMessageRequestHeader{Offset: 123456, Topic: "T"},
		"QueryMessageRequestHeader": &QueryMessageRequestHeader{Topic: "T", Key: "K", MaxNum: 32, BeginTimestamp: 1, EndTimestamp: 2, UniqKey: true},
		"PullMessageRequestHeader": &PullMessageRequestHeader{ConsumerGroup: "cg", Topic: "T", QueueID: 1, QueueOffset: 10,
			MaxMsgNums: 32, SysFlag: 4, CommitOffset: 0, SuspendTimeoutMillis: 0, Subscription: "*", SubVersion: 99,
			ExpressionType: "TAG", MaxMsgBytes: 1 << 20, BrokerName: "broker-a"},
		"CreateTopicRequestHeader": &CreateTopicRequestHeader{Topic: "T", DefaultTopic: "TBW102", ReadQueueNums: 8,
			WriteQueueNums: 8, Perm: PermRead | PermWrite, TopicFilterType: "MULTI_TAG", TopicSysFlag: 1, Order: true,
			Attributes: "+message.type=NORMAL", Force: true},
		"EndTransactionRequestHeader": &EndTransactionRequestHeader{Topic: "T", ProducerGroup: "pg", TranStateTableOffset: 5,
			CommitLogOffset: 6, CommitOrRollback: 8, FromTransactionCheck: true, MsgID: "m", TransactionID: "tx", BrokerName: "broker-a"},
		"CheckTransactionStateRequestHeader": &CheckTransactionStateRequestHeader{Topic: "RMQ_SYS_TRANS_HALF_TOPIC",
			TranStateTableOffset: 5, CommitLogOffset: 6, OffsetMsgID: "om", MsgID: "m", TransactionID: "tx", BrokerName: "broker-a"},
		"ReplyMessageRequestHeader": &ReplyMessageRequestHeader{ProducerGroup: "pg", Topic: "DefaultCluster_REPLY_TOPIC",
			DefaultTopic: "TBW102", DefaultTopicQueueNums: 4, QueueID: 0, SysFlag: 0, BornTimestamp: 1, Flag: 0,
			Properties: "MSG_TYPE\x01reply\x02", ReconsumeTimes: 0, UnitMode: false, BornHost: "127.0.0.1:50000",
			StoreHost: "127.0.0.1:10911", StoreTimestamp: 2},
		"Fields": Fields{{"x", "1"}, {"y", "2"}},
	}
}

func frKV(kv ...string) []Field {
	var fs []Field
	for i := 0; i < len(kv); i += 2 {
		fs = append(fs, Field{kv[i], kv[i+1]})
	}
	return fs
}

// TestHeaderKeyNames pins the exact Java ext key names (reference §3.1–3.4, §9, §10) and their
// order, for a fully populated header and for a zero one.
func TestHeaderKeyNames(t *testing.T) {
	props := frSendHeader().Properties
	cases := []struct {
		name string
		h    HeaderEncoder
		want []Field
	}{
		{"send V1", frSendHeader(), frKV("producerGroup", "please_rename_unique_group_name", "topic", "TopicTest",
			"defaultTopic", "TBW102", "defaultTopicQueueNums", "4", "queueId", "-1", "sysFlag", "4",
			"bornTimestamp", "1700000000123", "flag", "7", "properties", props, "reconsumeTimes", "2",
			"unitMode", "true", "batch", "true", "maxReconsumeTimes", "16", "bname", "broker-a")},
		{"send V1 minimal", &SendMessageRequestHeader{ProducerGroup: "g", Topic: "t", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4},
			frKV("producerGroup", "g", "topic", "t", "defaultTopic", "TBW102", "defaultTopicQueueNums", "4", "queueId", "0",
				"sysFlag", "0", "bornTimestamp", "0", "flag", "0", "reconsumeTimes", "0", "unitMode", "false", "batch", "false")},
		{"send V2", (*SendMessageRequestHeaderV2)(frSendHeader()), frKV("a", "please_rename_unique_group_name", "b", "TopicTest",
			"c", "TBW102", "d", "4", "e", "-1", "f", "4", "g", "1700000000123", "h", "7", "i", props, "j", "2",
			"k", "true", "l", "16", "m", "true", "n", "broker-a")},
		{"send V2 minimal", &SendMessageRequestHeaderV2{ProducerGroup: "g", Topic: "t", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4},
			frKV("a", "g", "b", "t", "c", "TBW102", "d", "4", "e", "0", "f", "0", "g", "0", "h", "0", "j", "0", "k", "false", "m", "false")},
		{"send response", frAllHeaders()["SendMessageResponseHeader"], frKV("msgId", "7F00000100002A9F0000000000000000",
			"queueId", "1", "queueOffset", "12", "transactionId", "tx", "batchUniqId", "bu", "recallHandle", "rh",
			"MSG_REGION", "DefaultRegion", "TRACE_ON", "true")},
		{"route", &GetRouteInfoRequestHeader{Topic: "TestTopic", AcceptStandardJSONOnly: true},
			frKV("topic", "TestTopic", "acceptStandardJsonOnly", "true")},
		{"route minimal", &GetRouteInfoRequestHeader{Topic: "TestTopic"}, frKV("topic", "TestTopic")},
		{"unregister", frAllHeaders()["UnregisterClientRequestHeader"],
			frKV("clientID", "127.0.0.1@1#2", "producerGroup", "pg", "consumerGroup", "cg")},
		{"unregister producer only", &UnregisterClientRequestHeader{ClientID: "c", ProducerGroup: "pg"},
			frKV("clientID", "c", "producerGroup", "pg")},
		{"min offset", frAllHeaders()["QueueRequestHeader"], frKV("topic", "T", "queueId", "3", "bname", "broker-a")},
		{"max offset", frAllHeaders()["GetMaxOffsetRequestHeader"],
			frKV("topic", "T", "queueId", "3", "bname", "broker-a", "committed", "true")},
		{"search offset", frAllHeaders()["SearchOffsetRequestHeader"],
			frKV("topic", "T", "queueId", "3", "timestamp", "1700000000000", "boundaryType", "UPPER", "bname", "broker-a")},
		{"search offset default boundary", &SearchOffsetRequestHeader{QueueRequestHeader: QueueRequestHeader{Topic: "T"}, Timestamp: 5},
			frKV("topic", "T", "queueId", "0", "timestamp", "5")},
		{"view", frAllHeaders()["ViewMessageRequestHeader"], frKV("offset", "123456", "topic", "T")},
		{"query by uniq key", frAllHeaders()["QueryMessageRequestHeader"], frKV("topic", "T", "key", "K", "maxNum", "32",
			"beginTimestamp", "1", "endTimestamp", "2", "_UNIQUE_KEY_QUERY", "true")},
		{"query by key", &QueryMessageRequestHeader{Topic: "T", Key: "K", MaxNum: 32, EndTimestamp: 9},
			frKV("topic", "T", "key", "K", "maxNum", "32", "beginTimestamp", "0", "endTimestamp", "9")},
		{"pull", frAllHeaders()["PullMessageRequestHeader"], frKV("consumerGroup", "cg", "topic", "T", "queueId", "1",
			"queueOffset", "10", "maxMsgNums", "32", "sysFlag", "4", "commitOffset", "0", "suspendTimeoutMillis", "0",
			"subscription", "*", "subVersion", "99", "expressionType", "TAG", "maxMsgBytes", "1048576", "bname", "broker-a")},
		{"create topic", frAllHeaders()["CreateTopicRequestHeader"], frKV("topic", "T", "defaultTopic", "TBW102",
			"readQueueNums", "8", "writeQueueNums", "8", "perm", "6", "topicFilterType", "MULTI_TAG", "topicSysFlag", "1",
			"order", "true", "attributes", "+message.type=NORMAL", "force", "true")},
		{"create topic defaults", &CreateTopicRequestHeader{Topic: "T", DefaultTopic: "TBW102", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
			frKV("topic", "T", "defaultTopic", "TBW102", "readQueueNums", "4", "writeQueueNums", "4", "perm", "6",
				"topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false")},
		{"end transaction", frAllHeaders()["EndTransactionRequestHeader"], frKV("topic", "T", "producerGroup", "pg",
			"tranStateTableOffset", "5", "commitLogOffset", "6", "commitOrRollback", "8", "fromTransactionCheck", "true",
			"msgId", "m", "transactionId", "tx", "bname", "broker-a")},
		{"end transaction producer-initiated rollback", &EndTransactionRequestHeader{ProducerGroup: "pg", CommitOrRollback: 12, MsgID: "m"},
			frKV("producerGroup", "pg", "tranStateTableOffset", "0", "commitLogOffset", "0", "commitOrRollback", "12",
				"fromTransactionCheck", "false", "msgId", "m")},
		{"check transaction", frAllHeaders()["CheckTransactionStateRequestHeader"], frKV("topic", "RMQ_SYS_TRANS_HALF_TOPIC",
			"tranStateTableOffset", "5", "commitLogOffset", "6", "offsetMsgId", "om", "msgId", "m", "transactionId", "tx",
			"bname", "broker-a")},
		{"reply push", frAllHeaders()["ReplyMessageRequestHeader"], frKV("producerGroup", "pg", "topic", "DefaultCluster_REPLY_TOPIC",
			"defaultTopic", "TBW102", "defaultTopicQueueNums", "4", "queueId", "0", "sysFlag", "0", "bornTimestamp", "1",
			"flag", "0", "properties", "MSG_TYPE\x01reply\x02", "reconsumeTimes", "0", "unitMode", "false",
			"bornHost", "127.0.0.1:50000", "storeHost", "127.0.0.1:10911", "storeTimestamp", "2")},
		{"fields", Fields{{"x", "1"}, {"", "2"}, {"z", ""}}, frKV("x", "1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Command{Code: 1, Header: tc.h}
			if got := c.Fields(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Fields\n got %q\nwant %q", got, tc.want)
			}
			for _, st := range frSerializeTypes {
				d := frMustDecode(t, frEncode(t, c, st))
				if !reflect.DeepEqual(d.Ext, tc.want) {
					t.Fatalf("%v wire\n got %q\nwant %q", st, d.Ext, tc.want)
				}
			}
		})
	}
}

// frSendOver encodes c in st and decodes it back.
func frSendOver(t *testing.T, c *Command, st SerializeType) *Command {
	t.Helper()
	return frMustDecode(t, frEncode(t, c, st))
}

func TestHeaderDecodeRoundTrip(t *testing.T) {
	for _, st := range frSerializeTypes {
		t.Run(st.String(), func(t *testing.T) {
			full := frSendHeader()
			minimal := &SendMessageRequestHeader{ProducerGroup: "g", Topic: "t", DefaultTopic: "TBW102"}
			for _, h := range []*SendMessageRequestHeader{full, minimal} {
				for _, code := range []int32{SendMessage, SendReplyMessage} {
					got, err := DecodeSendMessageRequestHeader(frSendOver(t, &Command{Code: code, Header: h}, st))
					if err != nil || !reflect.DeepEqual(got, h) {
						t.Fatalf("V1 code %d\n got %+v, %v\nwant %+v", code, got, err, h)
					}
				}
				for _, code := range []int32{SendMessageV2, SendBatchMessage, SendReplyMessageV2} {
					got, err := DecodeSendMessageRequestHeader(frSendOver(t, &Command{Code: code, Header: (*SendMessageRequestHeaderV2)(h)}, st))
					if err != nil || !reflect.DeepEqual(got, h) {
						t.Fatalf("V2 code %d\n got %+v, %v\nwant %+v", code, got, err, h)
					}
				}
			}
			// The naming follows the code: a V2 header under code 10 is missing every V1 field.
			if _, err := DecodeSendMessageRequestHeader(frSendOver(t, &Command{Code: SendMessage,
				Header: (*SendMessageRequestHeaderV2)(full)}, st)); err == nil || !strings.Contains(err.Error(), `"producerGroup"`) {
				t.Fatalf("V2 names under code 10: %v", err)
			}

			resp := frAllHeaders()["SendMessageResponseHeader"].(*SendMessageResponseHeader)
			got, err := DecodeSendMessageResponseHeader(frSendOver(t, &Command{Flag: FlagResponse, Header: resp}, st))
			if err != nil || *got != *resp {
				t.Fatalf("send response\n got %+v, %v\nwant %+v", got, err, resp)
			}
			// Defaults when the broker leaves MSG_REGION / TRACE_ON out; TRACE_ON=false read back.
			got, err = DecodeSendMessageResponseHeader(frSendOver(t, &Command{Flag: FlagResponse,
				Header: &SendMessageResponseHeader{MsgID: "m", QueueID: 2, QueueOffset: 3}}, st))
			want := SendMessageResponseHeader{MsgID: "m", QueueID: 2, QueueOffset: 3, RegionID: "DefaultRegion", TraceOn: false}
			if err != nil || *got != want {
				t.Fatalf("send response defaults: %+v, %v", got, err)
			}
			got, err = DecodeSendMessageResponseHeader(frSendOver(t, &Command{Flag: FlagResponse,
				Ext: frKV("msgId", "m", "queueId", "2", "queueOffset", "3")}, st))
			want.TraceOn = true
			if err != nil || *got != want {
				t.Fatalf("send response without TRACE_ON: %+v, %v", got, err)
			}
			// A batch response: comma-joined ids.
			got, err = DecodeSendMessageResponseHeader(frSendOver(t, &Command{Flag: FlagResponse,
				Ext: frKV("msgId", "A,B,C", "queueId", "0", "queueOffset", "9223372036854775807")}, st))
			if err != nil || got.MsgID != "A,B,C" || got.QueueOffset != 9223372036854775807 {
				t.Fatalf("batch response: %+v, %v", got, err)
			}

			for _, code := range []int32{GetMaxOffset, GetMinOffset, SearchOffsetByTimestamp} {
				off, err := DecodeOffsetResponse(frSendOver(t, &Command{Code: 0, Flag: 1, Ext: frKV("offset", "-1")}, st))
				if err != nil || off != -1 {
					t.Fatalf("code %d offset %d, %v", code, off, err)
				}
			}
			ts, err := DecodeTimestampResponse(frSendOver(t, &Command{Flag: 1, Ext: frKV("timestamp", "1700000000000")}, st))
			if err != nil || ts != 1700000000000 {
				t.Fatalf("timestamp %d, %v", ts, err)
			}

			q, err := DecodeQueryMessageResponseHeader(frSendOver(t, &Command{Flag: 1,
				Ext: frKV("indexLastUpdateTimestamp", "11", "indexLastUpdatePhyoffset", "22")}, st))
			if err != nil || *q != (QueryMessageResponseHeader{11, 22}) {
				t.Fatalf("query response %+v, %v", q, err)
			}
			q, err = DecodeQueryMessageResponseHeader(frSendOver(t, &Command{Flag: 1}, st))
			if err != nil || *q != (QueryMessageResponseHeader{}) {
				t.Fatalf("empty query response %+v, %v", q, err)
			}

			p, err := DecodePullMessageResponseHeader(frSendOver(t, &Command{Flag: 1, Ext: frKV("suggestWhichBrokerId", "1",
				"nextBeginOffset", "11", "minOffset", "0", "maxOffset", "12", "offsetDelta", "x", "topicSysFlag", "0")}, st))
			if err != nil || *p != (PullMessageResponseHeader{1, 11, 0, 12}) {
				t.Fatalf("pull response %+v, %v", p, err)
			}

			chk := frAllHeaders()["CheckTransactionStateRequestHeader"].(*CheckTransactionStateRequestHeader)
			gotChk, err := DecodeCheckTransactionStateRequestHeader(frSendOver(t, &Command{Code: CheckTransactionState,
				Flag: FlagOneway, Header: chk}, st))
			if err != nil || *gotChk != *chk {
				t.Fatalf("check transaction\n got %+v, %v\nwant %+v", gotChk, err, chk)
			}

			rep := frAllHeaders()["ReplyMessageRequestHeader"].(*ReplyMessageRequestHeader)
			rep.UnitMode = true
			gotRep, err := DecodeReplyMessageRequestHeader(frSendOver(t, &Command{Code: PushReplyMessageToClient, Header: rep}, st))
			if err != nil || *gotRep != *rep {
				t.Fatalf("reply push\n got %+v, %v\nwant %+v", gotRep, err, rep)
			}
		})
	}
}

// TestHeaderDecodeJava decodes headers as a Java broker writes them (JSON, fastjson order, values
// as strings) rather than as our encoder does.
func TestHeaderDecodeJava(t *testing.T) {
	c := frMustDecode(t, frJSONFrame(`{"code":39,"extFields":{"bname":"broker-a","commitLogOffset":"4242",`+
		`"msgId":"7F0000011E3C18B4AAC25D6A4D7A0000","offsetMsgId":"7F00000100002A9F0000000000001092",`+
		`"topic":"RMQ_SYS_TRANS_HALF_TOPIC","tranStateTableOffset":"17","transactionId":"7F0000011E3C18B4AAC25D6A4D7A0000"},`+
		`"flag":2,"language":"JAVA","opaque":123,"serializeTypeCurrentRPC":"JSON","version":479}`, []byte("stored")))
	if !c.IsOneway() || c.IsResponse() || c.Code != CheckTransactionState {
		t.Fatalf("%+v", c)
	}
	h, err := DecodeCheckTransactionStateRequestHeader(c)
	want := CheckTransactionStateRequestHeader{Topic: "RMQ_SYS_TRANS_HALF_TOPIC", TranStateTableOffset: 17,
		CommitLogOffset: 4242, OffsetMsgID: "7F00000100002A9F0000000000001092",
		MsgID: "7F0000011E3C18B4AAC25D6A4D7A0000", TransactionID: "7F0000011E3C18B4AAC25D6A4D7A0000", BrokerName: "broker-a"}
	if err != nil || *h != want {
		t.Fatalf("%+v, %v", h, err)
	}

	// 5.x SendMessageResponseHeader is a FastCodesHeader: its fields first, then extFields, in the
	// binary map (duplicates allowed).
	b := frBinFrame(0, 0, 479, 8, 1, "", nil, "msgId", "X", "queueId", "3", "queueOffset", "100",
		"transactionId", "T", "MSG_REGION", "DefaultRegion", "TRACE_ON", "false", "queueId", "3")
	r, err := DecodeSendMessageResponseHeader(frMustDecode(t, b))
	if err != nil || *r != (SendMessageResponseHeader{MsgID: "X", QueueID: 3, QueueOffset: 100, TransactionID: "T",
		RegionID: "DefaultRegion", TraceOn: false}) {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestHeaderMissingRequired(t *testing.T) {
	type decoder func(*Command) error
	send := func(c *Command) error { _, err := DecodeSendMessageRequestHeader(c); return err }
	cases := []struct {
		name     string
		code     int32
		full     []Field
		required []string
		dec      decoder
	}{
		{"send V1", SendMessage, (&Command{Header: frSendHeader()}).Fields(),
			[]string{"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag"}, send},
		{"send V2", SendMessageV2, (&Command{Header: (*SendMessageRequestHeaderV2)(frSendHeader())}).Fields(),
			[]string{"a", "b", "c", "d", "e", "f", "g", "h"}, send},
		{"send response", 0, frKV("msgId", "m", "queueId", "1", "queueOffset", "2"), []string{"msgId", "queueId", "queueOffset"},
			func(c *Command) error { _, err := DecodeSendMessageResponseHeader(c); return err }},
		{"offset", 0, frKV("offset", "1"), []string{"offset"},
			func(c *Command) error { _, err := DecodeOffsetResponse(c); return err }},
		{"timestamp", 0, frKV("timestamp", "1"), []string{"timestamp"},
			func(c *Command) error { _, err := DecodeTimestampResponse(c); return err }},
		{"pull response", 0, frKV("suggestWhichBrokerId", "0", "nextBeginOffset", "1", "minOffset", "0", "maxOffset", "2"),
			[]string{"nextBeginOffset", "minOffset", "maxOffset"},
			func(c *Command) error { _, err := DecodePullMessageResponseHeader(c); return err }},
		{"check transaction", CheckTransactionState, (&Command{Header: frAllHeaders()["CheckTransactionStateRequestHeader"]}).Fields(),
			[]string{"tranStateTableOffset", "commitLogOffset"},
			func(c *Command) error { _, err := DecodeCheckTransactionStateRequestHeader(c); return err }},
		{"reply push", PushReplyMessageToClient, (&Command{Header: frAllHeaders()["ReplyMessageRequestHeader"]}).Fields(),
			[]string{"topic"},
			func(c *Command) error { _, err := DecodeReplyMessageRequestHeader(c); return err }},
	}
	for _, tc := range cases {
		if err := tc.dec(&Command{Code: tc.code, Ext: tc.full}); err != nil {
			t.Fatalf("%s: full header: %v", tc.name, err)
		}
		for _, key := range tc.required {
			var ext []Field
			for _, f := range tc.full {
				if f.Key != key {
					ext = append(ext, f)
				}
			}
			for _, st := range frSerializeTypes {
				c := frSendOver(t, &Command{Code: tc.code, Ext: ext}, st)
				err := tc.dec(c)
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"`+key+`"`) ||
					!strings.Contains(err.Error(), "missing") {
					t.Errorf("%s/%v without %q: %v", tc.name, st, key, err)
				}
			}
		}
	}
}

func TestHeaderNonInteger(t *testing.T) {
	type decoder func(*Command) error
	send := func(c *Command) error { _, err := DecodeSendMessageRequestHeader(c); return err }
	cases := []struct {
		name   string
		code   int32
		full   []Field
		int32s []string
		int64s []string
		dec    decoder
	}{
		{"send V1", SendMessage, (&Command{Header: frSendHeader()}).Fields(),
			[]string{"defaultTopicQueueNums", "queueId", "sysFlag", "flag", "reconsumeTimes", "maxReconsumeTimes"},
			[]string{"bornTimestamp"}, send},
		{"send V2", SendBatchMessage, (&Command{Header: (*SendMessageRequestHeaderV2)(frSendHeader())}).Fields(),
			[]string{"d", "e", "f", "h", "j", "l"}, []string{"g"}, send},
		{"send response", 0, frKV("msgId", "m", "queueId", "1", "queueOffset", "2"), []string{"queueId"}, []string{"queueOffset"},
			func(c *Command) error { _, err := DecodeSendMessageResponseHeader(c); return err }},
		{"offset", 0, frKV("offset", "1"), nil, []string{"offset"},
			func(c *Command) error { _, err := DecodeOffsetResponse(c); return err }},
		{"timestamp", 0, frKV("timestamp", "1"), nil, []string{"timestamp"},
			func(c *Command) error { _, err := DecodeTimestampResponse(c); return err }},
		{"query response", 0, frKV("indexLastUpdateTimestamp", "1", "indexLastUpdatePhyoffset", "2"), nil,
			[]string{"indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"},
			func(c *Command) error { _, err := DecodeQueryMessageResponseHeader(c); return err }},
		{"pull response", 0, frKV("suggestWhichBrokerId", "0", "nextBeginOffset", "1", "minOffset", "0", "maxOffset", "2"),
			nil, []string{"suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"},
			func(c *Command) error { _, err := DecodePullMessageResponseHeader(c); return err }},
		{"check transaction", CheckTransactionState, (&Command{Header: frAllHeaders()["CheckTransactionStateRequestHeader"]}).Fields(),
			nil, []string{"tranStateTableOffset", "commitLogOffset"},
			func(c *Command) error { _, err := DecodeCheckTransactionStateRequestHeader(c); return err }},
		{"reply push", PushReplyMessageToClient, (&Command{Header: frAllHeaders()["ReplyMessageRequestHeader"]}).Fields(),
			[]string{"defaultTopicQueueNums", "queueId", "sysFlag", "flag", "reconsumeTimes"},
			[]string{"bornTimestamp", "storeTimestamp"},
			func(c *Command) error { _, err := DecodeReplyMessageRequestHeader(c); return err }},
	}
	for _, tc := range cases {
		bad := map[string][]string{}
		for _, k := range tc.int32s {
			bad[k] = []string{"abc", "1.5", " 1", "0x10", "2147483648", "-2147483649"}
		}
		for _, k := range tc.int64s {
			bad[k] = []string{"abc", "1.5", "1e3", "9223372036854775808", "--1"}
		}
		for key, values := range bad {
			for _, v := range values {
				c := &Command{Code: tc.code, Ext: append(append([]Field(nil), tc.full...), Field{key, v})}
				err := tc.dec(c)
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"`+key+`"`) ||
					!strings.Contains(err.Error(), "integer") {
					t.Errorf("%s: %s=%q: %v", tc.name, key, v, err)
				}
			}
		}
	}
}

func TestHeaderBooleans(t *testing.T) {
	// Java's Boolean.parseBoolean: only "true" (case-insensitively) is true.
	for v, want := range map[string]bool{"true": true, "TRUE": true, "True": true, "false": false, "": false, "1": false, "yes": false} {
		c := &Command{Code: SendMessageV2, Ext: append((&Command{Header: (*SendMessageRequestHeaderV2)(&SendMessageRequestHeader{
			ProducerGroup: "g", Topic: "t", DefaultTopic: "d"})}).Fields(), Field{"k", v}, Field{"m", v})}
		h, err := DecodeSendMessageRequestHeader(c)
		if err != nil || h.UnitMode != want || h.Batch != want {
			t.Errorf("%q: %+v, %v", v, h, err)
		}
	}
}

func TestHeaderShortSendCodes(t *testing.T) {
	for code, want := range map[int32]bool{SendMessage: false, SendMessageV2: true, SendBatchMessage: true,
		SendReplyMessage: false, SendReplyMessageV2: true, PullMessage: false} {
		if IsShortSendCode(code) != want {
			t.Errorf("IsShortSendCode(%d) != %v", code, want)
		}
	}
	q := QueueData{Perm: PermRead | PermWrite}
	if !q.Writable() || (QueueData{Perm: PermRead}).Writable() {
		t.Fatal("QueueData.Writable")
	}
}

// TestSendHeaderPropertiesMap checks that a header carrying its properties as a map encodes to the
// same bytes as one carrying the sorted string, in every format and for signing (Fields).
func TestSendHeaderPropertiesMap(t *testing.T) {
	for _, props := range []map[string]string{
		nil,
		{},
		{"": "x", "y": ""}, // nothing encodable: the field is omitted
		{"UNIQ_KEY": "7F0000010001", "WAIT": "true", "TAGS": "a\"b\\c\nd", "KEYS": "k1 k2", "é": "\u00e9\x7f"},
	} {
		str := frSendHeader()
		str.Properties = string(AppendPropertiesSorted(nil, props))
		byMap := frSendHeader()
		byMap.Properties, byMap.PropertiesMap = "", props
		for _, st := range frSerializeTypes {
			for _, hs := range [][2]HeaderEncoder{{str, byMap}, {(*SendMessageRequestHeaderV2)(str), (*SendMessageRequestHeaderV2)(byMap)}} {
				want := frEncode(t, &Command{Code: SendMessageV2, Header: hs[0]}, st)
				got := frEncode(t, &Command{Code: SendMessageV2, Header: hs[1]}, st)
				if string(got) != string(want) {
					t.Fatalf("%v %T props %q:\n got %q\nwant %q", st, hs[1], props, got, want)
				}
				if a, b := (&Command{Header: hs[0]}).Fields(), (&Command{Header: hs[1]}).Fields(); !reflect.DeepEqual(a, b) {
					t.Fatalf("Fields with props %q:\n got %q\nwant %q", props, b, a)
				}
			}
		}
	}
}
