package route

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// answer is how the fake NameServer answers GET_ROUTEINFO_BY_TOPIC for one topic.
type answer struct {
	code int32  // response code; Success when body is set and code is 0
	body string // route JSON
	// stall holds the answer until the channel is closed (or the fake shuts down: no answer then).
	stall chan struct{}
	// hangUp closes the connection instead of answering.
	hangUp bool
}

// fakeNS is an in-process NameServer that answers GET_ROUTEINFO_BY_TOPIC with canned answers, for
// what the real one cannot do on demand: stall, hang up, answer in non-standard JSON. It serves one
// request at a time per connection, as a stuck server would.
type fakeNS struct {
	t    testing.TB
	ln   net.Listener
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	answers  map[string]answer
	requests map[string]int // per topic
	nonStd   int            // requests without acceptStandardJsonOnly=true
	conns    []net.Conn
	closed   bool
	// seen receives the topic of every request, when it has room (never blocks the fake).
	seen chan string
}

func newFakeNS(t testing.TB) *fakeNS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNS{
		t: t, ln: ln, quit: make(chan struct{}),
		answers: map[string]answer{}, requests: map[string]int{},
		seen: make(chan string, 1024),
	}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeNS) addr() string { return f.ln.Addr().String() }

func (f *fakeNS) set(topic string, a answer) {
	f.mu.Lock()
	f.answers[topic] = a
	f.mu.Unlock()
}

func (f *fakeNS) route(topic, body string) { f.set(topic, answer{body: body}) }

func (f *fakeNS) count(topic string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[topic]
}

func (f *fakeNS) nonStandardRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nonStd
}

// close shuts the fake down and waits for its goroutines; idempotent.
func (f *fakeNS) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	close(f.quit)
	f.ln.Close()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeNS) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			nc.Close()
			return
		}
		f.conns = append(f.conns, nc)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(nc)
	}
}

func (f *fakeNS) serve(nc net.Conn) {
	defer f.wg.Done()
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		req, err := remote.ReadFrame(r, codec.MaxFrameSize)
		if errors.Is(err, codec.ErrMalformed) {
			f.t.Errorf("fake NameServer: bad frame: %v", err)
		}
		if err != nil {
			return
		}
		if req.Code != codec.GetRouteInfoByTopic {
			f.reply(nc, codec.NewResponse(req, codec.RequestCodeNotSupported, "fake: unsupported"))
			continue
		}
		topic, _ := req.ExtValue("topic")
		std, _ := req.ExtValue("acceptStandardJsonOnly")
		f.mu.Lock()
		f.requests[topic]++
		if std != "true" {
			f.nonStd++
		}
		a, ok := f.answers[topic]
		f.mu.Unlock()
		select {
		case f.seen <- topic:
		default:
		}

		if !ok {
			a = answer{code: codec.TopicNotExist}
		}
		if a.hangUp {
			return
		}
		if a.stall != nil {
			select {
			case <-a.stall:
			case <-f.quit:
				return
			}
		}
		resp := codec.NewResponse(req, a.code, "")
		if a.code == codec.TopicNotExist {
			resp.Remark = "No topic route info in name server for the topic: " + topic
		}
		if a.body != "" {
			resp.Body = []byte(a.body)
		}
		f.reply(nc, resp)
	}
}

func (f *fakeNS) reply(nc net.Conn, resp *codec.Command) {
	resp.Language = codec.LanguageJava
	b, err := codec.AppendFrame(nil, resp, codec.SerializeJSON) // NameServers answer in JSON by default
	if err != nil {
		f.t.Errorf("fake NameServer: encoding: %v", err)
		return
	}
	_, _ = nc.Write(b)
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
