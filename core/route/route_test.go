package route

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/remote"
)

// brokerSpec describes one broker of a canned route.
type brokerSpec struct {
	name          string
	read, write   int
	perm          int
	master, slave string // "" = absent
}

// routeJSON renders a route body as a NameServer writes it: standard JSON (quoted broker ids) or
// fastjson's non-standard form (bare numeric keys, the old "topicSynFlag" spelling).
func routeJSON(nonStandard bool, orderConf string, brokers ...brokerSpec) string {
	q := func(id int) string {
		if nonStandard {
			return fmt.Sprint(id)
		}
		return fmt.Sprintf("%q", fmt.Sprint(id))
	}
	sysFlag := "topicSysFlag"
	if nonStandard {
		sysFlag = "topicSynFlag"
	}
	var bds, qds []string
	for _, b := range brokers {
		var addrs []string
		if b.master != "" {
			addrs = append(addrs, fmt.Sprintf("%s:%q", q(0), b.master))
		}
		if b.slave != "" {
			addrs = append(addrs, fmt.Sprintf("%s:%q", q(1), b.slave))
		}
		bds = append(bds, fmt.Sprintf(`{"brokerAddrs":{%s},"brokerName":%q,"cluster":"DefaultCluster","enableActingMaster":false}`,
			strings.Join(addrs, ","), b.name))
		qds = append(qds, fmt.Sprintf(`{"brokerName":%q,"perm":%d,"readQueueNums":%d,"%s":0,"writeQueueNums":%d}`,
			b.name, b.perm, b.read, sysFlag, b.write))
	}
	order := ""
	if orderConf != "" {
		order = fmt.Sprintf(`"orderTopicConf":%q,`, orderConf)
	}
	return fmt.Sprintf(`{"brokerDatas":[%s],"filterServerTable":{},%s"queueDatas":[%s]}`,
		strings.Join(bds, ","), order, strings.Join(qds, ","))
}

var (
	brokerA = brokerSpec{name: "broker-a", read: 4, write: 4, perm: 6, master: "127.0.0.1:10911"}
	brokerB = brokerSpec{name: "broker-b", read: 4, write: 4, perm: 6, master: "127.0.0.1:10921"}
	// tbw102 is the default topic as a broker with autoCreateTopicEnable publishes it.
	tbw102A = brokerSpec{name: "broker-a", read: 8, write: 8, perm: 7, master: "127.0.0.1:10911"}
	tbw102B = brokerSpec{name: "broker-b", read: 8, write: 8, perm: 7, master: "127.0.0.1:10921"}
)

func mq(topic, broker string, id int) message.MessageQueue {
	return message.MessageQueue{Topic: topic, BrokerName: broker, QueueID: id}
}

// queuesOf lists n queues per broker, broker by broker.
func queuesOf(topic string, n int, brokers ...string) []message.MessageQueue {
	var qs []message.MessageQueue
	for _, b := range brokers {
		for i := range n {
			qs = append(qs, mq(topic, b, i))
		}
	}
	return qs
}

// newTestClient returns a route Client over a fresh remote.Client, asking the NameServers in the
// order given (no random start), closed when the test ends.
func newTestClient(t *testing.T, nameServers []string, opts ...Option) *Client {
	t.Helper()
	rc := remote.NewClient(remote.WithDialTimeout(time.Second))
	opts = append([]Option{WithNameServers(nameServers...), WithMinRefreshInterval(0)}, opts...)
	c, err := New(rc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.nsIndex.Store(0)
	t.Cleanup(func() {
		c.Close()
		rc.Close()
	})
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewValidation(t *testing.T) {
	rc := remote.NewClient()
	defer rc.Close()
	if _, err := New(nil, WithNameServers("127.0.0.1:9876")); err == nil {
		t.Error("New without a remote.Client must fail")
	}
	if _, err := New(rc); err == nil {
		t.Error("New without NameServers must fail")
	}
	c, err := New(rc, WithNameServers("10.0.0.1:9876; 10.0.0.2:9876", "10.0.0.3:9876"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:9876", "10.0.0.2:9876", "10.0.0.3:9876"}
	if got := c.NameServers(); !slices.Equal(got, want) {
		t.Errorf("NameServers() = %v, want %v", got, want)
	}
}

func TestFetchRouteStandardAndNonStandardJSON(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("std", routeJSON(false, "", brokerA, brokerB))
	bSlave := brokerB
	bSlave.slave = "127.0.0.1:10922"
	ns.route("nonstd", routeJSON(true, "", brokerA, bSlave))
	c := newTestClient(t, []string{ns.addr()})

	for _, topic := range []string{"std", "nonstd"} {
		rd, err := c.FetchRoute(ctxT(t), topic)
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		if len(rd.BrokerDatas) != 2 || rd.BrokerDatas[1].MasterAddr() != "127.0.0.1:10921" ||
			len(rd.QueueDatas) != 2 || rd.QueueDatas[0].WriteQueueNums != 4 || !rd.QueueDatas[0].Writable() {
			t.Fatalf("%s: decoded route %+v", topic, rd)
		}
	}
	if n := ns.nonStandardRequests(); n != 0 {
		t.Errorf("%d requests did not ask for standard JSON", n)
	}
	if got := c.Brokers(); len(got) != 2 || got["broker-b"] != "127.0.0.1:10921" {
		t.Errorf("Brokers() = %v", got)
	}
}

func TestFetchRouteTopicNotExist(t *testing.T) {
	ns := newFakeNS(t)
	c := newTestClient(t, []string{ns.addr()})
	_, err := c.FetchRoute(ctxT(t), "nope")
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
	var nre *NoRouteError
	if !errors.As(err, &nre) || nre.Topic != "nope" || !slices.Equal(nre.NameServers, []string{ns.addr()}) {
		t.Fatalf("err = %#v", err)
	}
	want := fmt.Sprintf(`route: no route for topic "nope" (NameServers asked: %s)`, ns.addr())
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}

func TestFetchRouteOtherCode(t *testing.T) {
	ns := newFakeNS(t)
	ns.set("T", answer{code: codec.SystemError})
	c := newTestClient(t, []string{ns.addr()})
	_, err := c.FetchRoute(ctxT(t), "T")
	var re *ResponseError
	if !errors.As(err, &re) || re.Code != codec.SystemError || re.Addr != ns.addr() || errors.Is(err, ErrNoRoute) {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchRouteMalformedBody(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", `{"brokerDatas":[{`)
	c := newTestClient(t, []string{ns.addr()})
	if _, err := c.FetchRoute(ctxT(t), "T"); !errors.Is(err, codec.ErrMalformed) {
		t.Fatalf("err = %v, want codec.ErrMalformed", err)
	}
}

func TestFailoverOnConnectionErrorAndStickiness(t *testing.T) {
	bad := newFakeNS(t) // accepts, then hangs up on every request
	bad.set("T", answer{hangUp: true})
	good := newFakeNS(t)
	good.route("T", routeJSON(false, "", brokerA))
	dead := deadAddr(t)
	c := newTestClient(t, []string{dead, bad.addr(), good.addr()})

	if _, err := c.FetchRoute(ctxT(t), "T"); err != nil {
		t.Fatal(err)
	}
	if bad.count("T") != 1 || good.count("T") != 1 {
		t.Fatalf("requests: bad %d, good %d", bad.count("T"), good.count("T"))
	}
	// The NameServer that answered is asked first from now on.
	for range 3 {
		if _, err := c.FetchRoute(ctxT(t), "T"); err != nil {
			t.Fatal(err)
		}
	}
	if bad.count("T") != 1 || good.count("T") != 4 {
		t.Fatalf("not sticky: bad %d, good %d", bad.count("T"), good.count("T"))
	}
}

func TestFailoverOnTimeout(t *testing.T) {
	stuck := newFakeNS(t)
	stuck.set("T", answer{stall: make(chan struct{})}) // never released
	good := newFakeNS(t)
	good.route("T", routeJSON(false, "", brokerA))
	c := newTestClient(t, []string{stuck.addr(), good.addr()}, WithTimeout(100*time.Millisecond))

	rd, err := c.FetchRoute(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	if rd.BrokerDatas[0].BrokerName != "broker-a" || stuck.count("T") != 1 {
		t.Fatalf("route %+v, stuck asked %d times", rd, stuck.count("T"))
	}
}

func TestAllNameServersFail(t *testing.T) {
	d1, d2 := deadAddr(t), deadAddr(t)
	c := newTestClient(t, []string{d1, d2})
	_, err := c.FetchRoute(ctxT(t), "T")
	if err == nil || !errors.Is(err, remote.ErrConnect) || errors.Is(err, ErrNoRoute) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), d1) || !strings.Contains(err.Error(), d2) {
		t.Errorf("error does not name the NameServers asked: %v", err)
	}
}

func TestFetchRouteHonoursContext(t *testing.T) {
	stuck := newFakeNS(t)
	stuck.set("T", answer{stall: make(chan struct{})})
	good := newFakeNS(t)
	good.route("T", routeJSON(false, "", brokerA))
	c := newTestClient(t, []string{stuck.addr(), good.addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// The context ends before the 3 s request timeout: no failover, the caller's deadline wins.
	if _, err := c.FetchRoute(ctx, "T"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if good.count("T") != 0 {
		t.Fatal("asked the next NameServer after the caller's context ended")
	}
}

func TestNewTopicPublishInfo(t *testing.T) {
	decode := func(body string) *codec.TopicRouteData {
		rd, err := codec.DecodeTopicRouteData([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return rd
	}
	readOnly := brokerSpec{name: "broker-0", read: 4, write: 4, perm: 4, master: "x:1"}
	slaveOnly := brokerSpec{name: "broker-1", read: 4, write: 4, perm: 6, slave: "x:2"}
	c3 := brokerSpec{name: "broker-c", read: 8, write: 3, perm: 6, master: "x:3"}
	a2 := brokerSpec{name: "broker-a", read: 2, write: 2, perm: 2, master: "x:4"}

	cases := []struct {
		name  string
		body  string
		want  []message.MessageQueue
		order bool
	}{
		{
			name: "sorted by broker name, write queue numbers, unusable brokers skipped",
			body: routeJSON(false, "", c3, readOnly, brokerB, slaveOnly, a2),
			want: slices.Concat(queuesOf("T", 2, "broker-a"), queuesOf("T", 4, "broker-b"), queuesOf("T", 3, "broker-c")),
		},
		{
			name:  "orderTopicConf overrides queue data, in its own order",
			body:  routeJSON(false, "broker-b:2;broker-a:1;", brokerA, brokerB),
			want:  []message.MessageQueue{mq("T", "broker-b", 0), mq("T", "broker-b", 1), mq("T", "broker-a", 0)},
			order: true,
		},
		{
			name: "queue data without broker data",
			body: `{"brokerDatas":[],"queueDatas":[{"brokerName":"ghost","perm":6,"readQueueNums":4,"writeQueueNums":4}]}`,
		},
		{name: "empty route", body: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd := decode(tc.body)
			p, err := NewTopicPublishInfo("T", rd)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Queues, tc.want) || p.OrderTopic != tc.order || p.Route != rd || p.Empty() != (len(tc.want) == 0) {
				t.Fatalf("got queues %v order %v empty %v, want %v order %v", p.Queues, p.OrderTopic, p.Empty(), tc.want, tc.order)
			}
		})
	}

	// The route's own slice is not reordered (it is shared with the cache).
	rd := decode(routeJSON(false, "", brokerB, brokerA))
	if _, err := NewTopicPublishInfo("T", rd); err != nil || rd.QueueDatas[0].BrokerName != "broker-b" {
		t.Fatalf("route mutated: %v %v", rd.QueueDatas, err)
	}
	p, _ := NewTopicPublishInfo("T", rd)
	if p.WriteQueueNums("broker-a") != 4 || p.WriteQueueNums("nope") != -1 {
		t.Fatal("WriteQueueNums")
	}

	for _, conf := range []string{"broker-a", "broker-a:x", ":4", "broker-a:-1"} {
		rd := &codec.TopicRouteData{OrderTopicConf: conf}
		if _, err := NewTopicPublishInfo("T", rd); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("orderTopicConf %q: err = %v, want codec.ErrMalformed", conf, err)
		}
	}
	var nilInfo *TopicPublishInfo
	if !nilInfo.Empty() {
		t.Error("a nil info must be empty")
	}
}

func TestPublishInfoCachesAndOrders(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(true, "", brokerB, brokerA)) // unsorted, non-standard JSON
	c := newTestClient(t, []string{ns.addr()})
	p, err := c.PublishInfo(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	if want := queuesOf("T", 4, "broker-a", "broker-b"); !slices.Equal(p.Queues, want) || p.Fallback {
		t.Fatalf("queues %v fallback %v, want %v", p.Queues, p.Fallback, want)
	}
	p2, err := c.PublishInfo(ctxT(t), "T")
	if err != nil || p2 != p || ns.count("T") != 1 {
		t.Fatalf("second call was not served from the cache (requests %d)", ns.count("T"))
	}
	if !slices.Equal(c.Topics(), []string{"T"}) {
		t.Fatalf("Topics() = %v", c.Topics())
	}
}

func TestFallbackToDefaultTopic(t *testing.T) {
	ns := newFakeNS(t)
	small := tbw102B
	small.read = 2 // fewer read queues than the cap: the cap is min(4, readQueueNums)
	ns.route(DefaultTopic, routeJSON(false, "", tbw102A, small))
	c := newTestClient(t, []string{ns.addr()})

	p, err := c.PublishInfo(ctxT(t), "newTopic")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(queuesOf("newTopic", 4, "broker-a"), queuesOf("newTopic", 2, "broker-b"))
	if !p.Fallback || p.Topic != "newTopic" || !slices.Equal(p.Queues, want) {
		t.Fatalf("fallback %v topic %q queues %v, want %v", p.Fallback, p.Topic, p.Queues, want)
	}
	if q := p.Route.QueueDatas[0]; q.ReadQueueNums != 4 || q.WriteQueueNums != 4 {
		t.Fatalf("fallback route not capped: %+v", q)
	}
	if ns.count("newTopic") != 1 || ns.count(DefaultTopic) != 1 {
		t.Fatalf("requests: topic %d, default %d", ns.count("newTopic"), ns.count(DefaultTopic))
	}
	if c.BrokerAddr("broker-b") != "127.0.0.1:10921" {
		t.Fatal("brokers of the default topic's route must be remembered")
	}

	// Cached like any route; once the topic exists, a refresh finds its own route.
	if p2, _ := c.PublishInfo(ctxT(t), "newTopic"); p2 != p {
		t.Fatal("fallback info not cached")
	}
	ns.route("newTopic", routeJSON(false, "", brokerA, brokerB))
	p3, err := c.Refresh(ctxT(t), "newTopic")
	if err != nil || p3.Fallback || len(p3.Queues) != 8 {
		t.Fatalf("after creation: %+v, %v", p3, err)
	}
}

func TestFallbackQueueNumsOption(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("MyDefault", routeJSON(false, "", tbw102A))
	c := newTestClient(t, []string{ns.addr()}, WithDefaultTopic("MyDefault"), WithDefaultTopicQueueNums(3))
	p, err := c.PublishInfo(ctxT(t), "X")
	if err != nil || !slices.Equal(p.Queues, queuesOf("X", 3, "broker-a")) {
		t.Fatalf("queues %v, err %v", p, err)
	}
}

func TestNoRouteWithoutFallback(t *testing.T) {
	ns := newFakeNS(t)
	ns.route(DefaultTopic, routeJSON(false, "", tbw102A))
	c := newTestClient(t, []string{ns.addr()}, WithoutDefaultTopic())
	_, err := c.PublishInfo(ctxT(t), "X")
	var nre *NoRouteError
	if !errors.As(err, &nre) || nre.DefaultTopic != "" || ns.count(DefaultTopic) != 0 {
		t.Fatalf("err = %v, default topic asked %d times", err, ns.count(DefaultTopic))
	}
	if len(c.Topics()) != 0 {
		t.Fatal("a failed lookup must not be cached")
	}
}

func TestNoRouteForDefaultTopicEither(t *testing.T) {
	ns := newFakeNS(t)
	c := newTestClient(t, []string{ns.addr()})
	_, err := c.PublishInfo(ctxT(t), "X")
	var nre *NoRouteError
	if !errors.As(err, &nre) || nre.Topic != "X" || nre.DefaultTopic != DefaultTopic {
		t.Fatalf("err = %#v", err)
	}
	for _, s := range []string{`"X"`, ns.addr(), DefaultTopic, "autoCreateTopicEnable"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err.Error(), s)
		}
	}
	// Asking for the default topic itself does not fall back to itself.
	if _, err := c.PublishInfo(ctxT(t), DefaultTopic); !errors.Is(err, ErrNoRoute) || ns.count(DefaultTopic) != 2 {
		t.Fatalf("err = %v, default topic asked %d times", err, ns.count(DefaultTopic))
	}
}

func TestDefaultTopicFetchFails(t *testing.T) {
	ns := newFakeNS(t)
	ns.set(DefaultTopic, answer{code: codec.SystemBusy})
	c := newTestClient(t, []string{ns.addr()})
	_, err := c.PublishInfo(ctxT(t), "X")
	var re *ResponseError
	if !errors.Is(err, ErrNoRoute) || !errors.As(err, &re) || re.Topic != DefaultTopic {
		t.Fatalf("err = %v: want both the missing route and the default topic's failure", err)
	}
}

func TestRefreshSeesChangesAndKeepsRotation(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA, brokerB))
	c := newTestClient(t, []string{ns.addr()})
	p, err := c.PublishInfo(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	p.Counter().Store(41)

	// broker-b's master goes away: only its slave is left.
	bSlave := brokerB
	bSlave.master, bSlave.slave = "", "127.0.0.1:10922"
	ns.route("T", routeJSON(false, "", brokerA, bSlave))
	p2, err := c.Refresh(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p2.Queues, queuesOf("T", 4, "broker-a")) {
		t.Fatalf("queues after refresh %v", p2.Queues)
	}
	if p2.Counter().Load() != 41 {
		t.Fatalf("round-robin position not carried over: %d", p2.Counter().Load())
	}
	if p3, _ := c.PublishInfo(ctxT(t), "T"); p3 != p2 {
		t.Fatal("PublishInfo does not return the refreshed info")
	}
	if c.BrokerAddr("broker-b") != "" || len(c.Brokers()) != 1 || c.BrokerAddr("broker-a") != "127.0.0.1:10911" {
		t.Fatalf("broker table after master loss: %v", c.Brokers())
	}
}

func TestRefreshThrottle(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA))
	c := newTestClient(t, []string{ns.addr()}, WithMinRefreshInterval(time.Hour))
	p, err := c.PublishInfo(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if p2, err := c.Refresh(ctxT(t), "T"); err != nil || p2 != p {
			t.Fatalf("Refresh of a fresh route: %v %v", p2, err)
		}
	}
	if ns.count("T") != 1 {
		t.Fatalf("a fresh route was fetched again: %d requests", ns.count("T"))
	}
}

func TestRefreshFailureKeepsCache(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA))
	c := newTestClient(t, []string{ns.addr()})
	p, err := c.PublishInfo(ctxT(t), "T")
	if err != nil {
		t.Fatal(err)
	}
	ns.set("T", answer{code: codec.SystemError})
	if _, err := c.Refresh(ctxT(t), "T"); err == nil {
		t.Fatal("Refresh did not report the failure")
	}
	if p2, err := c.PublishInfo(ctxT(t), "T"); err != nil || p2 != p {
		t.Fatal("a failed refresh dropped the cached route")
	}
}

func TestEmptyPublishInfoIsFetchedAgain(t *testing.T) {
	ns := newFakeNS(t)
	noMaster := brokerA
	noMaster.master, noMaster.slave = "", "127.0.0.1:10912"
	ns.route("T", routeJSON(false, "", noMaster))
	c := newTestClient(t, []string{ns.addr()})
	p, err := c.PublishInfo(ctxT(t), "T")
	if err != nil || !p.Empty() {
		t.Fatalf("want an empty publish info, got %v %v", p, err)
	}
	ns.route("T", routeJSON(false, "", brokerA))
	if p, err = c.PublishInfo(ctxT(t), "T"); err != nil || len(p.Queues) != 4 {
		t.Fatalf("an empty cached route was not fetched again: %v %v", p, err)
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	ns := newFakeNS(t)
	release := make(chan struct{})
	ns.set("T", answer{body: routeJSON(false, "", brokerA, brokerB), stall: release})
	// Refresh callers that arrive after the fetch find a fresh route rather than fetching again.
	c := newTestClient(t, []string{ns.addr()}, WithMinRefreshInterval(time.Hour))

	const n = 32
	var ready, done sync.WaitGroup
	results := make([]*TopicPublishInfo, n)
	errs := make([]error, n)
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			if i%2 == 0 {
				results[i], errs[i] = c.PublishInfo(ctxT(t), "T")
			} else {
				results[i], errs[i] = c.Refresh(ctxT(t), "T")
			}
		}()
	}
	ready.Wait()
	<-ns.seen // the one request has arrived
	waitFor(t, func() bool { return waiters(c, "T") == n-1 })
	close(release)
	done.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("caller %d: %v %v", i, results[i], errs[i])
		}
	}
	if got := ns.count("T"); got != 1 {
		t.Fatalf("%d concurrent callers sent %d requests, want 1", n, got)
	}
}

func TestWaiterTakesOverWhenFetcherGivesUp(t *testing.T) {
	ns := newFakeNS(t)
	release := make(chan struct{})
	ns.set("T", answer{body: routeJSON(false, "", brokerA), stall: release})
	c := newTestClient(t, []string{ns.addr()})

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.PublishInfo(leaderCtx, "T")
		leaderErr <- err
	}()
	<-ns.seen
	followerDone := make(chan error, 1)
	go func() {
		p, err := c.PublishInfo(ctxT(t), "T")
		if err == nil && len(p.Queues) != 4 {
			err = fmt.Errorf("queues %v", p.Queues)
		}
		followerDone <- err
	}()
	waitFor(t, func() bool { return waiters(c, "T") == 1 }) // the follower waits for the leader's fetch
	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	close(release)
	if err := <-followerDone; err != nil {
		t.Fatalf("follower: %v", err)
	}
	if got := ns.count("T"); got != 2 {
		t.Fatalf("%d requests, want 2: the follower must fetch once the leader gave up", got)
	}
}

func TestClosedClient(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA))
	c := newTestClient(t, []string{ns.addr()})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := c.PublishInfo(ctxT(t), "T"); !errors.Is(err, ErrClosed) {
		t.Errorf("PublishInfo after Close: %v", err)
	}
	if _, err := c.Refresh(ctxT(t), "T"); !errors.Is(err, ErrClosed) {
		t.Errorf("Refresh after Close: %v", err)
	}
	if _, err := c.FetchRoute(ctxT(t), "T"); !errors.Is(err, ErrClosed) {
		t.Errorf("FetchRoute after Close: %v", err)
	}
	if err := c.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestPollLoopRefreshesAndCloseStopsIt(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA))
	ns.route("U", routeJSON(false, "", brokerB))
	rc := remote.NewClient()
	c, err := New(rc, WithNameServers(ns.addr()), WithPollInterval(10*time.Millisecond), WithMinRefreshInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"T", "U"} {
		if _, err := c.PublishInfo(ctxT(t), topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil { // idempotent
		t.Fatal(err)
	}
	drain(ns.seen)
	ns.route("T", routeJSON(false, "", brokerA, brokerB))
	// The loop picks the change up without anyone asking.
	waitFor(t, func() bool {
		p, _ := c.PublishInfo(ctxT(t), "T")
		return len(p.Queues) == 8
	})
	waitFor(t, func() bool { return ns.count("U") >= 3 })

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	ns.close()
	// goleak.VerifyNone (deferred) checks that the loop, the transport and the fake are gone.
}

func TestCloseDuringStalledPoll(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA))
	rc := remote.NewClient()
	c, err := New(rc, WithNameServers(ns.addr()), WithPollInterval(10*time.Millisecond), WithMinRefreshInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishInfo(ctxT(t), "T"); err != nil {
		t.Fatal(err)
	}
	ns.set("T", answer{stall: make(chan struct{})}) // the next poll hangs for the full 3 s timeout
	drain(ns.seen)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	<-ns.seen // a poll request is in flight and stalled
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close waited %v for a stalled poll instead of cancelling it", d)
	}
	rc.Close()
	ns.close()
}

// waiters returns how many callers wait for the fetch of topic in progress.
func waiters(c *Client, topic string) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f := c.flights[topic]; f != nil {
		return f.waiters
	}
	return 0
}

func drain(ch chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitFor polls cond until it holds, failing the test after 10 s. It is for conditions reached by
// background work (the poll loop, another goroutine blocking); the tests never sleep for a fixed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOfflineBrokersAreForgotten: after a poll, a broker that no cached route lists any more is
// gone from Brokers and BrokerAddr (Java's cleanOfflineBroker); a NameServer that stops answering
// forgets nothing.
func TestOfflineBrokersAreForgotten(t *testing.T) {
	ns := newFakeNS(t)
	ns.route("T", routeJSON(false, "", brokerA, brokerB))
	ns.route("U", routeJSON(false, "", brokerB))
	c := newTestClient(t, []string{ns.addr()}, WithPollInterval(10*time.Millisecond))
	for _, topic := range []string{"T", "U"} {
		if _, err := c.PublishInfo(ctxT(t), topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if len(c.Brokers()) != 2 {
		t.Fatalf("brokers %v", c.Brokers())
	}
	ns.route("T", routeJSON(false, "", brokerA))
	waitFor(t, func() bool { p, _ := c.PublishInfo(ctxT(t), "T"); return len(p.Queues) == 4 })
	polls := ns.count("U")
	waitFor(t, func() bool { return ns.count("U") >= polls+2 }) // a whole poll after T changed
	if !c.hasBroker("broker-b") {
		t.Fatal("broker-b forgotten while U still lists it")
	}
	ns.route("U", routeJSON(false, "", brokerA))
	waitFor(t, func() bool { return !c.hasBroker("broker-b") })
	if c.BrokerAddr("broker-b") != "" || c.BrokerAddr("broker-a") == "" {
		t.Fatalf("brokers %v", c.Brokers())
	}
	ns.set("T", answer{hangUp: true})
	ns.set("U", answer{hangUp: true})
	drain(ns.seen)
	waitFor(t, func() bool { return ns.count("T") >= 3 })
	if !c.hasBroker("broker-a") {
		t.Fatal("a NameServer that failed made the client forget a broker")
	}
}

func (c *Client) hasBroker(name string) bool { _, ok := c.Brokers()[name]; return ok }
