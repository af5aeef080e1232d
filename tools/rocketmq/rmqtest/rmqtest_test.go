package rmqtest_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// brokerRow matches a clusterList row: cluster, broker name, BID 0, address.
func brokerRow(name, addr string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + rmqtest.ClusterName + `\s+` + regexp.QuoteMeta(name) + `\s+0\s+` + regexp.QuoteMeta(addr) + `\s`)
}

// brokerAnswers writes a GET_BROKER_RUNTIME_INFO request (code 28, JSON header) on conn and
// reads frames until the response with opaque arrives or wait passes.
func brokerAnswers(conn net.Conn, opaque int, wait time.Duration) error {
	hdr := fmt.Sprintf(`{"code":28,"language":"JAVA","version":0,"opaque":%d,"flag":0,"extFields":{}}`, opaque)
	frame := binary.BigEndian.AppendUint32(nil, uint32(4+len(hdr)))
	frame = binary.BigEndian.AppendUint32(frame, uint32(len(hdr)))
	frame = append(frame, hdr...)
	if _, err := conn.Write(frame); err != nil {
		return err
	}
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	for {
		var lens [8]byte
		if _, err := io.ReadFull(conn, lens[:]); err != nil {
			return err
		}
		rest := make([]byte, binary.BigEndian.Uint32(lens[:4])-4)
		if _, err := io.ReadFull(conn, rest); err != nil {
			return err
		}
		if bytes.Contains(rest, []byte(fmt.Sprintf(`"opaque":%d,`, opaque))) {
			return nil
		}
	}
}

func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
}

func TestSharedClusterRoutesTopicToBothBrokers(t *testing.T) {
	c := rmqtest.Start(t)
	if c.NameServer() == "" {
		t.Fatal("empty NameServer address")
	}
	brokers := c.Brokers()
	if len(brokers) != 2 || brokers[rmqtest.BrokerA] == "" || brokers[rmqtest.BrokerB] == "" {
		t.Fatalf("Brokers() = %v, want broker-a and broker-b", brokers)
	}
	for name, addr := range brokers {
		if got := c.BrokerAddr(name); got != addr {
			t.Errorf("BrokerAddr(%q) = %q, want %q", name, got, addr)
		}
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("broker %s at %s, want loopback", name, addr)
		}
	}
	if c.AccessKey() != "" || c.SecretKey() != "" {
		t.Errorf("shared cluster has credentials %q/%q, want none", c.AccessKey(), c.SecretKey())
	}

	out := c.Admin(t, "clusterList")
	for name, addr := range brokers {
		if !brokerRow(name, addr).MatchString(out) {
			t.Errorf("clusterList does not list %s at %s:\n%s", name, addr, out)
		}
	}

	topic := uniqueTopic("rmqtest_shared")
	c.CreateTopic(t, topic, 4)
	route := c.Admin(t, "topicRoute", "-t", topic)
	for name := range brokers {
		if !strings.Contains(route, `"brokerName":"`+name+`"`) {
			t.Errorf("route of %s lacks %s:\n%s", topic, name, route)
		}
	}
	if n := strings.Count(route, `"writeQueueNums":4`); n != 2 {
		t.Errorf("route of %s has %d queue datas with 4 write queues, want 2:\n%s", topic, n, route)
	}
}

func TestStartReturnsTheSameClusterWithinABinary(t *testing.T) {
	a := rmqtest.Start(t)
	b := rmqtest.Start(t)
	if a != b {
		t.Fatalf("two Start calls gave two clusters (%s, %s)", a.NameServer(), b.NameServer())
	}
}

func TestAuthClusterBootsRegistersAndStops(t *testing.T) {
	c := rmqtest.Start(t, rmqtest.Auth())
	if c.AccessKey() != "rocketmq" || c.SecretKey() != "12345678" {
		t.Fatalf("credentials %q/%q, want rocketmq/12345678", c.AccessKey(), c.SecretKey())
	}
	shared := rmqtest.Start(t)
	if c.NameServer() == shared.NameServer() {
		t.Fatalf("auth cluster shares the NameServer %s with the default one", c.NameServer())
	}

	out := c.Admin(t, "clusterList")
	for name, addr := range c.Brokers() {
		if !brokerRow(name, addr).MatchString(out) {
			t.Errorf("clusterList does not list %s at %s:\n%s", name, addr, out)
		}
	}
	cfg := c.Admin(t, "getBrokerConfig", "-b", c.BrokerAddr(rmqtest.BrokerA))
	flag := "authenticationEnabled" // ACL 2.0, what rmq.sh sets up on 5.x
	if !c.AtLeast("5.0.0") {
		flag = "aclEnable" // ACL 1.0 (plain_acl.yml) on 4.x
	}
	if !regexp.MustCompile(flag + `\s*=\s*true`).MatchString(cfg) {
		t.Errorf("broker-a config does not show %s=true:\n%s", flag, cfg)
	}

	ns := c.NameServer()
	if !c.Release() {
		// Another test binary of the same `go test ./...` (the producer's ACL tests) holds the
		// shared auth cluster: it must keep running for them.
		if conn, err := net.DialTimeout("tcp", ns, time.Second); err != nil {
			t.Fatalf("auth cluster held by another process was stopped: %v", err)
		} else {
			conn.Close()
		}
		return
	}
	if conn, err := net.DialTimeout("tcp", ns, time.Second); err == nil {
		conn.Close()
		t.Fatalf("auth NameServer %s still accepts connections after Stop", ns)
	}
	for name, addr := range c.Brokers() {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("auth %s at %s still accepts connections after Stop", name, addr)
		}
	}
}

func TestKillAndRestartBrokerOnOwnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private cluster")
	}
	t0 := time.Now()
	c := rmqtest.Start(t, rmqtest.Own(29876))
	shift, _ := strconv.Atoi(os.Getenv("RMQ_OWN_PORT_SHIFT"))
	if c.NameServer() != "127.0.0.1:"+strconv.Itoa(29876+shift) || c.BrokerAddr(rmqtest.BrokerB) != "127.0.0.1:"+strconv.Itoa(30921+shift) {
		t.Fatalf("Own(29876) at %s / %v", c.NameServer(), c.Brokers())
	}
	topic := uniqueTopic("rmqtest_failover")
	c.CreateTopic(t, topic, 2)

	// Paused, broker-b keeps its connection but answers nothing; resumed, it answers what waited.
	conn, err := net.DialTimeout("tcp", c.BrokerAddr(rmqtest.BrokerB), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := brokerAnswers(conn, 1, 10*time.Second); err != nil {
		t.Fatalf("broker-b before PauseBroker: %v", err)
	}
	c.PauseBroker(t, rmqtest.BrokerB)
	if err := brokerAnswers(conn, 2, 2*time.Second); err == nil {
		t.Fatal("paused broker-b answered")
	}
	c.ResumeBroker(t, rmqtest.BrokerB)
	if err := brokerAnswers(conn, 3, 10*time.Second); err != nil {
		t.Fatalf("broker-b after ResumeBroker: %v", err)
	}

	c.KillBroker(t, rmqtest.BrokerB)
	out := c.Admin(t, "clusterList")
	if brokerRow(rmqtest.BrokerB, c.BrokerAddr(rmqtest.BrokerB)).MatchString(out) {
		t.Fatalf("broker-b still listed after KillBroker:\n%s", out)
	}
	if !brokerRow(rmqtest.BrokerA, c.BrokerAddr(rmqtest.BrokerA)).MatchString(out) {
		t.Fatalf("broker-a missing after killing broker-b:\n%s", out)
	}

	c.RestartBroker(t, rmqtest.BrokerB)
	out = c.Admin(t, "clusterList")
	if !brokerRow(rmqtest.BrokerB, c.BrokerAddr(rmqtest.BrokerB)).MatchString(out) {
		t.Fatalf("broker-b not listed after RestartBroker:\n%s", out)
	}
	// Same store: the topic created before the kill is routed to broker-b again.
	route := c.Admin(t, "topicRoute", "-t", topic)
	if !strings.Contains(route, `"brokerName":"broker-b"`) {
		t.Fatalf("topic %s not routed to broker-b after restart:\n%s", topic, route)
	}
	if d := time.Since(t0); d > 4*time.Minute {
		t.Errorf("kill/restart cycle took %v, want < 4m", d)
	}
}

// fatalRecorder captures Fatalf instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestKillBrokerRefusedOnSharedCluster(t *testing.T) {
	c := rmqtest.Start(t)
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.KillBroker(rec, rmqtest.BrokerB)
	}()
	<-done
	if !strings.Contains(rec.msg, "only allowed on a private cluster") {
		t.Fatalf("KillBroker on the shared cluster: got %q, want a refusal", rec.msg)
	}
	if !brokerRow(rmqtest.BrokerB, c.BrokerAddr(rmqtest.BrokerB)).MatchString(c.Admin(t, "clusterList")) {
		t.Fatal("broker-b of the shared cluster is gone")
	}
}
