package codec

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// frRouteNonStandard is the non-standard fastjson route of reference §3.6, verbatim.
const frRouteNonStandard = `{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}`

// frRouteStandard is a standard-mode route (quoted keys, BrowserCompatible \u escapes, sorted
// members) with two master/slave broker groups, an order conf, the old topicSynFlag spelling,
// a static-topic mapping and members rocketsend does not know.
const frRouteStandard = `{
  "brokerDatas": [
    {"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10912"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false,"zoneName":"\u4e0a\u6d77-\ud83d\ude00"},
    {"brokerAddrs":{"0":"127.0.0.1:10921","2":"127.0.0.1:10922"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":true,"futureField":{"a":[1,2.5e3,-1,true,null]}}
  ],
  "filterServerTable": {"127.0.0.1:10911":["127.0.0.1:20000"]},
  "orderTopicConf": "broker-a:4;broker-b:8",
  "queueDatas": [
    {"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":1,"writeQueueNums":4},
    {"brokerName":"broker-b","perm":4,"readQueueNums":8,"topicSynFlag":3,"writeQueueNums":8}
  ],
  "topicQueueMappingByBroker": {"broker-a":{"bname":"broker-a","currIdMap":{"0":0},"dirty":false,"epoch":1,"scope":"__global__","topic":"T","totalQueues":8}},
  "unknown": [[],{},"x",0]
}`

func TestRouteNonStandard(t *testing.T) {
	if json.Valid([]byte(frRouteNonStandard)) {
		t.Fatal("the example should not be standard JSON")
	}
	rd, err := DecodeTopicRouteData([]byte(frRouteNonStandard))
	if err != nil {
		t.Fatal(err)
	}
	want := &TopicRouteData{
		QueueDatas: []QueueData{{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
		BrokerDatas: []BrokerData{{Cluster: "DefaultCluster", BrokerName: "broker-a",
			BrokerAddrs: map[int64]string{0: "127.0.0.1:10911"}}},
	}
	if !reflect.DeepEqual(rd, want) {
		t.Fatalf("\n got %+v\nwant %+v", rd, want)
	}
	if rd.BrokerDatas[0].MasterAddr() != "127.0.0.1:10911" || !rd.QueueDatas[0].Writable() {
		t.Fatal("master / writable")
	}
}

func TestRouteStandard(t *testing.T) {
	if !json.Valid([]byte(frRouteStandard)) {
		t.Fatal("the example should be standard JSON")
	}
	rd, err := DecodeTopicRouteData([]byte(frRouteStandard))
	if err != nil {
		t.Fatal(err)
	}
	want := &TopicRouteData{
		OrderTopicConf: "broker-a:4;broker-b:8",
		QueueDatas: []QueueData{
			{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6, TopicSysFlag: 1},
			{BrokerName: "broker-b", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 4, TopicSysFlag: 3},
		},
		BrokerDatas: []BrokerData{
			{Cluster: "DefaultCluster", BrokerName: "broker-a", ZoneName: "上海-😀",
				BrokerAddrs: map[int64]string{0: "127.0.0.1:10911", 1: "127.0.0.1:10912"}},
			{Cluster: "DefaultCluster", BrokerName: "broker-b", EnableActingMaster: true,
				BrokerAddrs: map[int64]string{0: "127.0.0.1:10921", 2: "127.0.0.1:10922"}},
		},
	}
	if !reflect.DeepEqual(rd, want) {
		t.Fatalf("\n got %+v\nwant %+v", rd, want)
	}
	if rd.QueueDatas[1].Writable() {
		t.Fatal("perm 4 is read-only")
	}
	if rd.BrokerDatas[1].MasterAddr() != "127.0.0.1:10921" {
		t.Fatal("master of broker-b")
	}
	if (BrokerData{BrokerAddrs: map[int64]string{1: "x"}}).MasterAddr() != "" {
		t.Fatal("a group without master has no master address")
	}
}

func TestRouteLenient(t *testing.T) {
	cases := map[string]*TopicRouteData{
		// numbers written as strings and strings as numbers, single quotes, nulls
		`{'queueDatas':[{'brokerName':'b','perm':'6','readQueueNums':"4",'writeQueueNums':4,'topicSysFlag':null}],` +
			`"brokerDatas":[{"brokerAddrs":{0:'a:1',"1":"a:2"},"brokerName":"b","cluster":null,"enableActingMaster":"true","zoneName":null}]}`: {
			QueueDatas: []QueueData{{BrokerName: "b", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
			BrokerDatas: []BrokerData{{BrokerName: "b", EnableActingMaster: true,
				BrokerAddrs: map[int64]string{0: "a:1", 1: "a:2"}}},
		},
		`{}`:                                     {},
		`{"queueDatas":[],"brokerDatas":[]}`:     {},
		`{"queueDatas":null,"brokerDatas":null}`: {},
		`{"orderTopicConf":null,"filterServerTable":null}`:        {},
		`{"brokerDatas":[{"brokerName":"b","brokerAddrs":null}]}`: {BrokerDatas: []BrokerData{{BrokerName: "b", BrokerAddrs: map[int64]string{}}}},
		`{"brokerDatas":[{"brokerAddrs":{"9223372036854775807":"x","-1":"y"}}]}`: {BrokerDatas: []BrokerData{{
			BrokerAddrs: map[int64]string{9223372036854775807: "x", -1: "y"}}}},
	}
	for in, want := range cases {
		rd, err := DecodeTopicRouteData([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if len(rd.QueueDatas) == 0 {
			rd.QueueDatas = nil
		}
		if len(rd.BrokerDatas) == 0 {
			rd.BrokerDatas = nil
		}
		if !reflect.DeepEqual(rd, want) {
			t.Errorf("%s\n got %+v\nwant %+v", in, rd, want)
		}
	}
}

func TestRouteMalformed(t *testing.T) {
	for _, in := range []string{
		``, ` `, `null`, `[]`, `"x"`, `{`, `{"queueDatas":[`, `{"queueDatas":{}}`, `{"brokerDatas":[1]}`,
		`{"brokerDatas":[{"brokerAddrs":{"master":"x"}}]}`,
		`{"brokerDatas":[{"brokerAddrs":{0:"x",}]}`,
		`{"brokerDatas":[{"brokerAddrs":{99999999999999999999:"x"}}]}`,
		`{"brokerDatas":[{"brokerAddrs":{0:{"x":1}}}]}`,
		`{"brokerDatas":[{"enableActingMaster":"maybe"}]}`,
		`{"queueDatas":[{"perm":"six"}]}`,
		`{"queueDatas":[{"perm":1.5}]}`,
		`{"queueDatas":[{"readQueueNums":4294967296}]}`,
		`{"queueDatas":[{"brokerName":{"a":1}}]}`,
		`{} trailing`,
		`{"a":` + strings.Repeat("[", 10000),
		frRouteNonStandard[:len(frRouteNonStandard)-1],
	} {
		rd, err := DecodeTopicRouteData([]byte(in))
		if !errors.Is(err, ErrMalformed) || rd != nil {
			t.Errorf("%q: %+v, %v", in, rd, err)
		}
	}
	for n := 0; n < len(frRouteStandard); n++ {
		in := frRouteStandard[:n]
		if strings.TrimSpace(in) != "" && strings.TrimSpace(in) == strings.TrimSpace(frRouteStandard) {
			continue
		}
		if _, err := DecodeTopicRouteData([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

// frClusterInfo is GET_BROKER_CLUSTER_INFO as fastjson writes it: always with bare numeric keys.
const frClusterInfo = `{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},"broker-b":{"brokerAddrs":{0:"127.0.0.1:10921"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-b","broker-a"]}}`

func TestRouteClusterInfo(t *testing.T) {
	ci, err := DecodeClusterInfo([]byte(frClusterInfo))
	if err != nil {
		t.Fatal(err)
	}
	want := &ClusterInfo{
		BrokerAddrTable: map[string]BrokerData{
			"broker-a": {Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "127.0.0.1:10911"}},
			"broker-b": {Cluster: "DefaultCluster", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: "127.0.0.1:10921"}},
		},
		ClusterAddrTable: map[string][]string{"DefaultCluster": {"broker-a", "broker-b"}},
	}
	if !reflect.DeepEqual(ci, want) {
		t.Fatalf("\n got %+v\nwant %+v", ci, want)
	}

	// 5.x adds more members; a master/slave pair; an empty body.
	ci, err = DecodeClusterInfo([]byte(`{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10912"},` +
		`"brokerName":"broker-a","cluster":"c1","enableActingMaster":false,"zoneName":"z"}},"clusterAddrTable":{"c1":["broker-a"],"c2":[]},"extra":{}}`))
	if err != nil || ci.BrokerAddrTable["broker-a"].BrokerAddrs[1] != "127.0.0.1:10912" || ci.BrokerAddrTable["broker-a"].ZoneName != "z" ||
		len(ci.ClusterAddrTable["c2"]) != 0 || !reflect.DeepEqual(ci.ClusterAddrTable["c1"], []string{"broker-a"}) {
		t.Fatalf("%+v, %v", ci, err)
	}
	ci, err = DecodeClusterInfo([]byte(`{}`))
	if err != nil || ci.BrokerAddrTable == nil || ci.ClusterAddrTable == nil {
		t.Fatalf("%+v, %v", ci, err)
	}
	for _, in := range []string{``, `{"brokerAddrTable":[]}`, `{"clusterAddrTable":{"c":{}}}`, `{"clusterAddrTable":{"c":[{}]}}`,
		`{"brokerAddrTable":{"a":{"brokerAddrs":{x:"y"}}}}`, frClusterInfo[:len(frClusterInfo)-2], frClusterInfo + "}"} {
		if ci, err := DecodeClusterInfo([]byte(in)); !errors.Is(err, ErrMalformed) || ci != nil {
			t.Errorf("%q: %+v, %v", in, ci, err)
		}
	}
}

func TestRouteHeartbeat(t *testing.T) {
	got := EncodeHeartbeatData(&HeartbeatData{ClientID: "127.0.0.1@12345#987654321",
		ProducerGroups: []string{"my_group", "CLIENT_INNER_PRODUCER"}})
	const want = `{"clientID":"127.0.0.1@12345#987654321","consumerDataSet":[],"heartbeatFingerprint":0,` +
		`"producerDataSet":[{"groupName":"my_group"},{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}`
	if string(got) != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	got = EncodeHeartbeatData(&HeartbeatData{ClientID: "c"})
	if string(got) != `{"clientID":"c","consumerDataSet":[],"heartbeatFingerprint":0,"producerDataSet":[],"withoutSub":false}` {
		t.Fatalf("no groups: %s", got)
	}
	// Odd characters stay valid JSON that fastjson reads back to the same strings.
	odd := HeartbeatData{ClientID: "a\"b\\c\x01<é>", ProducerGroups: []string{"g&h"}}
	var back struct {
		ClientID        string `json:"clientID"`
		ProducerDataSet []struct {
			GroupName string `json:"groupName"`
		} `json:"producerDataSet"`
	}
	if err := json.Unmarshal(EncodeHeartbeatData(&odd), &back); err != nil || back.ClientID != odd.ClientID ||
		back.ProducerDataSet[0].GroupName != "g&h" {
		t.Fatalf("%+v, %v", back, err)
	}
}
