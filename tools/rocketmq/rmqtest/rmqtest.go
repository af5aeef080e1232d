// Package rmqtest gives Go tests a real Apache RocketMQ cluster: one
// NameServer and two brokers (broker-a, broker-b of DefaultCluster), all on
// 127.0.0.1, run from the Maven Central jars by tools/rocketmq/rmq.sh.
//
// Typical use in a package's tests:
//
//	func TestMain(m *testing.M) { rmqtest.Main(m) }
//
//	func TestSend(t *testing.T) {
//		c := rmqtest.Start(t)
//		c.CreateTopic(t, "T", 4)
//		// ... dial c.NameServer() ...
//	}
//
// A whole `go test` run can share one cluster started beforehand:
//
//	eval "$(tools/rocketmq/rmq.sh start >/dev/null && tools/rocketmq/rmq.sh env)"
//	go test ./...
//
// (Start then uses $RMQ_NAMESRV and never stops that cluster). Without
// RMQ_NAMESRV the helper starts the cluster itself, once per test binary,
// and stops it when the binary ends (with Main) or when the last test using
// it finishes (without Main). Test binaries of several packages running at
// the same time share that cluster through lease files in its work dir; the
// last one to leave stops it.
//
// When Java, Maven or the cluster is not available, Start skips the test,
// unless CI=true, where it fails it: CI must not silently skip integration
// tests.
package rmqtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/tools/internal/flock"
)

// ClusterName is the broker cluster every broker of the test cluster joins;
// pass it to admin commands such as `updateTopic -c`.
const ClusterName = "DefaultCluster"

// Broker names of the test cluster, for BrokerAddr, KillBroker and
// RestartBroker.
const (
	BrokerA = "broker-a"
	BrokerB = "broker-b"
)

const (
	defaultPortBase = 9876  // NameServer port of the shared cluster (rmq.sh default)
	authPortBase    = 19876 // NameServer port of the auth cluster (rmq.sh default)
	brokerAOffset   = 1035  // broker-a listenPort = base + 1035 (10911 for 9876)
	brokerBOffset   = 1045  // broker-b listenPort = base + 1045 (10921 for 9876)

	authAccessKey = "rocketmq" // ACL 2.0 user created by the auth cluster at boot
	authSecretKey = "12345678"

	startTimeout = 20 * time.Minute // includes a cold jar download
	adminTimeout = 2 * time.Minute
	stopTimeout  = 2 * time.Minute
	routeTimeout = 60 * time.Second
)

// Option selects which cluster Start returns.
type Option func(*config)

type config struct {
	auth     bool
	own      bool
	portBase int
}

// Auth selects the variant with authentication enabled on the brokers: ACL
// 2.0 on 5.x, ACL 1.0 on 4.9.x (user or account rocketmq / 12345678, see
// Cluster.AccessKey and Cluster.ACL1). It is always a
// cluster of its own, on NameServer port 19876 (or $RMQ_AUTH_PORT_BASE), so
// it can run next to the shared one; requests must be signed.
func Auth() Option { return func(c *config) { c.auth = true } }

// Own selects a private cluster in its own work dir with NameServer port
// portBase (brokers on portBase+1035 and portBase+1045). Use it for tests
// that break the cluster (KillBroker, RestartBroker) so they never disturb
// tests sharing the default one. It is started fresh and stopped when the
// last test using it in this binary finishes. Pick a base no other package
// uses, e.g. 30000+. $RMQ_OWN_PORT_SHIFT, when set, is added to every Own
// base, so checkouts that test side by side (git worktrees) keep apart.
func Own(portBase int) Option {
	return func(c *config) { c.own = true; c.portBase = portBase }
}

// Cluster is a running RocketMQ test cluster.
type Cluster struct {
	key        string
	dir        string
	auth       bool
	own        bool
	external   bool // RMQ_NAMESRV: started by the test command, never stopped here
	handMade   bool // found running, started by hand: used, never stopped here
	nameServer string
	brokers    map[string]string
	env        []string
	version    string // RocketMQ release, "5.3.3"

	stopOnce sync.Once
	refs     int // tests currently using it (guarded by registryMu)
}

type entry struct {
	once sync.Once
	c    *Cluster
	err  error
}

var (
	registryMu sync.Mutex
	registry   = map[string]*entry{}
	mainActive atomic.Bool
)

// Main runs the tests of a package and then stops every cluster this test
// binary started, so one cluster serves all tests of the binary. Call it from
// TestMain: func TestMain(m *testing.M) { rmqtest.Main(m) }. An interrupt
// (SIGINT/SIGTERM) also stops the clusters before exiting.
//
// checks run after the clusters are stopped, when every test passed; an error
// from one fails the run. A goroutine-leak check belongs here, since Main
// owns os.Exit: rmqtest.Main(m, func() error { return goleak.Find() }).
func Main(m *testing.M, checks ...func() error) {
	mainActive.Store(true)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		if _, ok := <-sigs; ok {
			StopAll()
			os.Exit(130)
		}
	}()
	code := m.Run()
	signal.Stop(sigs)
	close(sigs) // ends the watcher, so leak checks do not see it
	<-watcherDone
	StopAll()
	for _, check := range checks {
		if code != 0 {
			break
		}
		if err := check(); err != nil {
			fmt.Fprintln(os.Stderr, "rmqtest: check after tests failed:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// StopAll stops every cluster this process started (the ones it merely
// joined are only released). Main calls it; call it yourself from a custom
// TestMain after m.Run.
func StopAll() {
	registryMu.Lock()
	var cs []*Cluster
	for k, e := range registry {
		if e.c != nil {
			cs = append(cs, e.c)
		}
		delete(registry, k)
	}
	registryMu.Unlock()
	for _, c := range cs {
		c.Stop()
	}
}

// Start returns a running cluster for the test.
//
// Without options it is the shared cluster: the one described by
// $RMQ_NAMESRV (plus $RMQ_BROKER_A / $RMQ_BROKER_B, defaulting to namesrv
// port+1035 / +1045) when the test command started one, otherwise one that
// this helper starts with `rmq.sh start` at most once per test binary. With
// Auth or Own it is that cluster instead (see there).
//
// If Java, Maven or the cluster are unavailable the test is skipped with the
// reason, or failed (with the logs) when CI=true. When the test fails, the
// tails of the cluster's logs are printed.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	key := cfg.key()

	var c *Cluster
	for c == nil {
		registryMu.Lock()
		e, ok := registry[key]
		if !ok {
			e = &entry{}
			registry[key] = e
		}
		registryMu.Unlock()

		e.once.Do(func() { e.c, e.err = launch(cfg, key) })
		if e.err != nil {
			var ce configError
			if errors.As(e.err, &ce) {
				t.Fatalf("rmqtest: %v", e.err)
			}
			unavailable(t, e.err)
		}
		registryMu.Lock()
		if registry[key] == e { // else released and stopped meanwhile: start anew
			c = e.c
			c.refs++
		}
		registryMu.Unlock()
	}
	t.Cleanup(func() { c.release() })
	// Registered last so it runs first: logs are read while still running.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("rmqtest: RocketMQ logs (%s):\n%s", c.nameServer, c.Logs())
		}
	})
	return c
}

// release drops one test's reference. Clusters of Own, and every cluster
// when Main is not in use, are stopped when no test uses them any more; a
// later Start starts a fresh one.
func (c *Cluster) release() {
	registryMu.Lock()
	c.refs--
	stop := c.refs == 0 && (c.own || !mainActive.Load())
	if stop {
		if e := registry[c.key]; e != nil && e.c == c {
			delete(registry, c.key)
		}
	}
	registryMu.Unlock()
	if stop {
		c.Stop()
	}
}

func (cfg config) key() string {
	switch {
	case cfg.own && cfg.auth:
		return "own-auth-" + strconv.Itoa(cfg.portBase)
	case cfg.own:
		return "own-" + strconv.Itoa(cfg.portBase)
	case cfg.auth:
		return "auth"
	default:
		return "default"
	}
}

// configError marks a mistake in how the helper is used (fatal even
// outside CI), as opposed to an unavailable environment (skip).
type configError struct{ error }

// startError carries the cluster's log tails along with why it did not
// start, for CI failures.
type startError struct {
	err  error
	logs string
}

func (e startError) Error() string { return e.err.Error() }
func (e startError) Unwrap() error { return e.err }

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		logs := "(none)"
		var se startError
		if errors.As(err, &se) && se.logs != "" {
			logs = se.logs
		}
		t.Fatalf("rmqtest: RocketMQ cluster unavailable (CI=true, so failing instead of skipping): %v\nlogs:\n%s", err, logs)
	}
	t.Skipf("rmqtest: RocketMQ cluster unavailable, skipping: %v", err)
}

func launch(cfg config, key string) (*Cluster, error) {
	if cfg.own && (cfg.portBase < 1 || cfg.portBase+brokerBOffset+1 > 65535) {
		return nil, configError{fmt.Errorf("Own(%d): port base out of range", cfg.portBase)}
	}
	if !cfg.auth && !cfg.own {
		if ns := os.Getenv("RMQ_NAMESRV"); ns != "" {
			return externalCluster(ns)
		}
	}
	script, repo, err := locateScript()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return nil, fmt.Errorf("bash not found: %w", err)
	}
	c := &Cluster{key: key, auth: cfg.auth, own: cfg.own}
	base := 0
	switch {
	case cfg.own:
		base = cfg.portBase + envInt("RMQ_OWN_PORT_SHIFT", 0)
		c.dir = filepath.Join(repo, ".rmq", key)
	case cfg.auth:
		base = envInt("RMQ_AUTH_PORT_BASE", authPortBase)
		c.dir = filepath.Join(repo, ".rmq", "auth")
	default:
		base = envInt("RMQ_PORT_BASE", defaultPortBase)
		c.dir = filepath.Join(repo, ".rmq", "default")
		if d := os.Getenv("RMQ_DIR"); d != "" {
			c.dir = d
		}
	}
	c.env = append(filteredEnv(),
		"RMQ_DIR="+c.dir,
		"RMQ_PORT_BASE="+strconv.Itoa(base),
		"RMQ_AUTH_PORT_BASE="+strconv.Itoa(base),
		"RMQ_SCRIPT="+script, // read by run
	)
	if err := c.acquire(); err != nil {
		var ce configError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, startError{err: err, logs: c.Logs()}
	}
	return c, nil
}

// externalCluster describes a cluster the test command started.
func externalCluster(ns string) (*Cluster, error) {
	host, portStr, err := net.SplitHostPort(ns)
	if err != nil {
		return nil, configError{fmt.Errorf("RMQ_NAMESRV=%q: %w", ns, err)}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, configError{fmt.Errorf("RMQ_NAMESRV=%q: bad port", ns)}
	}
	c := &Cluster{key: "default", external: true, nameServer: ns, version: os.Getenv("RMQ_VERSION"), brokers: map[string]string{
		BrokerA: envOr("RMQ_BROKER_A", net.JoinHostPort(host, strconv.Itoa(port+brokerAOffset))),
		BrokerB: envOr("RMQ_BROKER_B", net.JoinHostPort(host, strconv.Itoa(port+brokerBOffset))),
	}}
	c.dir = os.Getenv("RMQ_DIR")
	if script, repo, err := locateScript(); err == nil {
		if c.dir == "" {
			c.dir = filepath.Join(repo, ".rmq", "default")
		}
		c.env = append(filteredEnv(), "RMQ_DIR="+c.dir, "RMQ_SCRIPT="+script)
	}
	conn, err := net.DialTimeout("tcp", ns, 3*time.Second)
	if err != nil {
		return nil, fmt.Errorf("RMQ_NAMESRV=%s is not reachable: %w", ns, err)
	}
	conn.Close()
	return c, nil
}

// acquire starts (or joins) the cluster under a cross-process lease: every
// test binary using the work dir holds a lease file named after its pid, the
// cluster is stopped by whoever releases the last lease, and only if a
// helper started it (marker file), never one started by hand.
func (c *Cluster) acquire() error {
	leases := filepath.Join(c.dir, "leases")
	if err := os.MkdirAll(leases, 0o755); err != nil {
		return err
	}
	unlock, err := flock.Lock(filepath.Join(c.dir, ".leases.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	others := liveLeases(leases)
	marker := filepath.Join(leases, "helper-started")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if c.own {
		if len(others) > 0 {
			return configError{fmt.Errorf("Own cluster in %s is in use by another test process (pid %v): give each package its own port base", c.dir, others)}
		}
		// Private and disposable: always a fresh cluster.
		if _, err := c.run(ctx, "stop"); err != nil {
			return err
		}
	}
	_, statusErr := c.run(ctx, "status")
	switch {
	case statusErr == nil && !c.own && len(others) == 0 && !exists(marker):
		c.handMade = true // someone ran `rmq.sh start` by hand: use it, leave it
	case statusErr == nil && !c.own:
		// Started by another test binary (or left by a crashed one): join.
	default:
		if _, err := c.run(ctx, "start"); err != nil {
			return err
		}
		if err := os.WriteFile(marker, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return err
		}
	}
	if err := c.readEnv(ctx); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(leases, strconv.Itoa(os.Getpid())), nil, 0o644)
}

// readEnv reads addresses from `rmq.sh env`.
func (c *Cluster) readEnv(ctx context.Context) error {
	out, err := c.run(ctx, "env")
	if err != nil {
		return err
	}
	c.brokers = map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if !ok {
			continue
		}
		switch k {
		case "RMQ_NAMESRV":
			c.nameServer = v
		case "RMQ_BROKER_A":
			c.brokers[BrokerA] = v
		case "RMQ_BROKER_B":
			c.brokers[BrokerB] = v
		case "RMQ_VERSION":
			c.version = v
		}
	}
	if c.nameServer == "" || len(c.brokers) != 2 {
		return fmt.Errorf("rmq.sh env gave no addresses:\n%s", out)
	}
	return nil
}

// Stop releases this process's hold on the cluster and stops it when a
// helper started it and no other test process still uses it; a later Start
// in this process gets a fresh cluster. Clusters from RMQ_NAMESRV or started
// by hand are left running. Idempotent; Main (or the end of the last test
// using the cluster) calls it for you.
func (c *Cluster) Stop() { c.Release() }

// Release is Stop that reports whether it stopped the cluster: false when
// another test process still holds it, when it did not start it, or when an
// earlier call already released it.
func (c *Cluster) Release() (stopped bool) {
	registryMu.Lock()
	if e := registry[c.key]; e != nil && e.c == c {
		delete(registry, c.key) // a later Start gets a fresh cluster
	}
	registryMu.Unlock()
	c.stopOnce.Do(func() {
		if c.external {
			return
		}
		leases := filepath.Join(c.dir, "leases")
		unlock, err := flock.Lock(filepath.Join(c.dir, ".leases.lock"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "rmqtest: %v\n", err)
			return
		}
		defer unlock()
		_ = os.Remove(filepath.Join(leases, strconv.Itoa(os.Getpid())))
		marker := filepath.Join(leases, "helper-started")
		if len(liveLeases(leases)) > 0 || c.handMade || !exists(marker) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if out, err := c.run(ctx, "stop"); err != nil {
			fmt.Fprintf(os.Stderr, "rmqtest: stopping cluster in %s: %v\n%s", c.dir, err, out)
			return
		}
		_ = os.Remove(marker)
		stopped = true
	})
	return stopped
}

// NameServer returns the NameServer address, "127.0.0.1:port": what a
// producer is configured with.
func (c *Cluster) NameServer() string { return c.nameServer }

// BrokerAddr returns the address of broker "broker-a" or "broker-b"
// ("" for another name), for tests that talk to one broker directly.
func (c *Cluster) BrokerAddr(name string) string { return c.brokers[name] }

// Brokers returns broker name -> address for every broker of the cluster
// (a copy the caller may modify).
func (c *Cluster) Brokers() map[string]string {
	m := make(map[string]string, len(c.brokers))
	for k, v := range c.brokers {
		m[k] = v
	}
	return m
}

// DefaultVersion is the RocketMQ release rmq.sh runs when RMQ_VERSION is unset.
const DefaultVersion = "5.3.3"

// Version returns the RocketMQ release the cluster runs ("4.9.7", "5.3.3",
// "5.5.1"): what `rmq.sh env` reports, or $RMQ_VERSION for a cluster the
// test command started. Tests whose expectations differ between release
// lines (ACL 1.0 against 2.0, features a line lacks) branch on it.
func (c *Cluster) Version() string {
	if c.version == "" {
		return DefaultVersion
	}
	return c.version
}

// AtLeast reports whether the cluster's release is v or newer (dotted
// numbers compared field by field: "5.3.2" < "5.3.10").
func (c *Cluster) AtLeast(v string) bool { return CompareVersions(c.Version(), v) >= 0 }

// CompareVersions compares dotted release numbers field by field, -1, 0 or
// +1; a missing or non-numeric field counts as 0.
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// ACL1 reports whether the cluster's authentication is ACL 1.0 (4.9.x:
// plain_acl.yml, refusals answered SYSTEM_ERROR with an AclException
// remark) rather than ACL 2.0 (5.x: refusals answered NO_PERMISSION). The
// client's signature is the same for both.
func (c *Cluster) ACL1() bool { return !c.AtLeast("5.0.0") }

// AccessKey returns the access key requests to an Auth() cluster must be
// signed with ("" for clusters without authentication); ACL 2.0 user or
// ACL 1.0 account, see ACL1.
func (c *Cluster) AccessKey() string {
	if c.auth {
		return authAccessKey
	}
	return ""
}

// SecretKey returns the ACL 2.0 secret key matching AccessKey ("" for
// clusters without authentication).
func (c *Cluster) SecretKey() string {
	if c.auth {
		return authSecretKey
	}
	return ""
}

// Admin runs an mqadmin sub command (org.apache.rocketmq.tools.command.
// MQAdminStartup) against the cluster and returns its stdout; `-n` is added
// when missing, and requests are signed on an Auth() cluster. The test fails
// when the command fails. It starts a JVM: expect a few seconds per call.
func (c *Cluster) Admin(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.admin(args...)
	if err != nil {
		t.Fatalf("rmqtest: mqadmin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *Cluster) admin(args ...string) (string, error) {
	if c.env == nil {
		return "", errors.New("rmq.sh not found: cannot run mqadmin")
	}
	hasN := false
	for _, a := range args {
		if a == "-n" || strings.HasPrefix(a, "--namesrvAddr") {
			hasN = true
		}
	}
	full := append([]string{"admin"}, args...)
	if !hasN {
		full = append(full, "-n", c.nameServer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	return c.run(ctx, full...)
}

// CreateTopic creates (or updates) topic with the given number of read and
// write queues on every broker of DefaultCluster (mqadmin updateTopic -c),
// then waits until the NameServer routes it to both brokers (polling the
// GET_ROUTEINFO_BY_TOPIC request `mqadmin topicRoute` sends), so a producer
// can use it at once.
func (c *Cluster) CreateTopic(t testing.TB, topic string, queues int) {
	t.Helper()
	q := strconv.Itoa(queues)
	c.Admin(t, "updateTopic", "-c", ClusterName, "-t", topic, "-r", q, "-w", q)
	deadline := time.Now().Add(routeTimeout)
	for {
		names, err := routedBrokers(c.nameServer, topic)
		if err == nil && slices.Contains(names, BrokerA) && slices.Contains(names, BrokerB) {
			return
		}
		if time.Now().After(deadline) {
			route, _ := c.admin("topicRoute", "-t", topic)
			t.Fatalf("rmqtest: topic %s not routed to both brokers after %v (brokers %v, err %v); topicRoute:\n%s",
				topic, routeTimeout, names, err, route)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// KillBroker kills one broker with SIGKILL (no clean unregistration), for
// failover tests. Only allowed on an Own() cluster: killing a broker of the
// shared cluster would break unrelated tests.
func (c *Cluster) KillBroker(t testing.TB, name string) {
	t.Helper()
	c.mustOwn(t, "KillBroker")
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if out, err := c.run(ctx, "kill-broker", name); err != nil {
		t.Fatalf("rmqtest: kill-broker %s: %v\n%s", name, err, out)
	}
}

// PauseBroker stops one broker with SIGSTOP: its sockets stay open and the
// kernel still accepts connections, but it never answers, the hung broker
// that only a deadline gets a sender out of. ResumeBroker (SIGCONT) undoes
// it; a test that pauses a broker should defer ResumeBroker. Only allowed on
// an Own() cluster.
func (c *Cluster) PauseBroker(t testing.TB, name string) {
	t.Helper()
	c.signalBroker(t, "pause-broker", name)
}

// ResumeBroker continues a broker paused by PauseBroker (SIGCONT). Only
// allowed on an Own() cluster.
func (c *Cluster) ResumeBroker(t testing.TB, name string) {
	t.Helper()
	c.signalBroker(t, "resume-broker", name)
}

func (c *Cluster) signalBroker(t testing.TB, cmd, name string) {
	t.Helper()
	c.mustOwn(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if out, err := c.run(ctx, cmd, name); err != nil {
		t.Fatalf("rmqtest: %s %s: %v\n%s", cmd, name, err, out)
	}
}

// RestartBroker starts a broker again with the same config and store (after
// KillBroker, or stopping it first if it runs) and waits until the
// NameServer lists it again. Only allowed on an Own() cluster.
func (c *Cluster) RestartBroker(t testing.TB, name string) {
	t.Helper()
	c.mustOwn(t, "RestartBroker")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := c.run(ctx, "restart-broker", name); err != nil {
		t.Fatalf("rmqtest: restart-broker %s: %v\n%s\nlogs:\n%s", name, err, out, c.Logs())
	}
}

func (c *Cluster) mustOwn(t testing.TB, what string) {
	t.Helper()
	if !c.own {
		t.Fatalf("rmqtest: %s is only allowed on a private cluster from Start(t, rmqtest.Own(portBase)), not on the shared cluster (%s)", what, c.nameServer)
	}
}

// Logs returns the tails of every log of the cluster (JVM stdout/stderr,
// namesrv.log, broker.log), for diagnosing a failed test.
func (c *Cluster) Logs() string {
	if c.env == nil {
		return "(no logs: rmq.sh not found)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.run(ctx, "logs")
	if err != nil {
		return fmt.Sprintf("%s\n(rmq.sh logs: %v)", out, err)
	}
	return out
}

// run executes rmq.sh with the cluster's environment. On error the returned
// string holds stdout followed by stderr.
func (c *Cluster) run(ctx context.Context, args ...string) (string, error) {
	script := ""
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "RMQ_SCRIPT="); ok {
			script = v
		}
	}
	if c.auth {
		args = append(args, "--auth")
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = c.env
	cmd.Dir = filepath.Dir(script)
	cmd.WaitDelay = 10 * time.Second // a stray child holding our pipes must not hang us
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("rmq.sh %s: %w: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return stdout.String(), nil
}

// locateScript finds rmq.sh next to this source file (runtime.Caller works
// from any package's tests), falling back to walking up from the working
// directory (builds with -trimpath).
func locateScript() (script, repo string, err error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		s := filepath.Join(filepath.Dir(file), "..", "rmq.sh")
		if exists(s) {
			return filepath.Clean(s), filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..")), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for {
		s := filepath.Join(dir, "tools", "rocketmq", "rmq.sh")
		if exists(s) {
			return s, dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", errors.New("tools/rocketmq/rmq.sh not found")
		}
		dir = parent
	}
}

// liveLeases lists pids of other live processes holding a lease, removing
// leases of dead ones.
func liveLeases(dir string) []int {
	ents, _ := os.ReadDir(dir)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid == os.Getpid() {
			continue
		}
		if !processAlive(pid) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	return pids
}

// filteredEnv is the environment minus the variables the helper sets itself.
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "RMQ_DIR", "RMQ_PORT_BASE", "RMQ_AUTH_PORT_BASE", "RMQ_SCRIPT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
