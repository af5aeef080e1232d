package rmqtest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// The RMQ_NAMESRV path needs no Java: a listener stands in for the NameServer.
func TestExternalClusterFromEnv(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ns := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port

	t.Setenv("RMQ_BROKER_A", "")
	t.Setenv("RMQ_BROKER_B", "127.0.0.1:1234")
	c, err := externalCluster(ns)
	if err != nil {
		t.Fatal(err)
	}
	if c.NameServer() != ns {
		t.Errorf("NameServer() = %q, want %q", c.NameServer(), ns)
	}
	if want := "127.0.0.1:" + strconv.Itoa(port+1035); c.BrokerAddr(BrokerA) != want {
		t.Errorf("broker-a = %q, want default %q", c.BrokerAddr(BrokerA), want)
	}
	if c.BrokerAddr(BrokerB) != "127.0.0.1:1234" {
		t.Errorf("broker-b = %q, want RMQ_BROKER_B", c.BrokerAddr(BrokerB))
	}
	c.Stop() // must not touch a cluster the test command owns

	ln.Close()
	if _, err := externalCluster(ns); err == nil {
		t.Error("unreachable RMQ_NAMESRV accepted")
	}
	if _, err := externalCluster("nonsense"); err == nil {
		t.Error("malformed RMQ_NAMESRV accepted")
	}
}

// A fake NameServer checks the request and answers with a fastjson-style route (unquoted
// numeric map keys).
func TestRoutedBrokersAgainstFakeNameServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		req, err := remote.ReadFrame(conn, codec.MaxFrameSize)
		if err != nil {
			errc <- err
			return
		}
		if topic, _ := req.ExtValue("topic"); req.Code != codec.GetRouteInfoByTopic || topic != "T1" {
			errc <- fmt.Errorf("bad request: code %d topic %q", req.Code, topic)
			return
		}
		resp := codec.NewResponse(req, codec.Success, "")
		resp.Body = []byte(`{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],` +
			`"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},` +
			`{"brokerName":"broker-b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}`)
		out, err := codec.AppendFrame(nil, resp, codec.SerializeJSON)
		if err == nil {
			_, err = conn.Write(out)
		}
		errc <- err
	}()
	names, err := routedBrokers(ln.Addr().String(), "T1")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "broker-a,broker-b" {
		t.Fatalf("routedBrokers = %v, want [broker-a broker-b]", names)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"4.9.7", "5.0.0", -1}, {"5.3.3", "5.3.3", 0}, {"5.5.1", "5.3.3", 1},
		{"5.3.10", "5.3.2", 1}, {"5.3", "5.3.0", 0}, {"5.3.2", "5.3", 1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
