package send

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// fakeCluster is an in-process NameServer and brokers for fault injection only: specific
// response codes, stalls and dead brokers that the real broker cannot produce on demand. Tests of
// what the real broker stores run against tools/rocketmq.
type fakeCluster struct {
	t       testing.TB
	ns      *fakeServer
	brokers map[string]*fakeServer // by broker name
	queues  int
}

type fakeServer struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn []net.Conn
	// handle answers one request; nil means no answer, dropConn closes the connection instead.
	handle func(req *codec.Command) *codec.Command
	// serveConn, when set, serves each new connection instead of the decoding loop: benchmarks
	// answer without allocating, so -benchmem counts the client alone.
	serveConn func(nc net.Conn)
	sends     atomic.Int64
	// cuts holds answers (registered by cut) to write half of, then reset the connection: it
	// dies in the middle of a response.
	cuts sync.Map
}

// cut marks resp, a handler's answer, to be cut in the middle by a connection reset.
func (s *fakeServer) cut(resp *codec.Command) *codec.Command {
	s.cuts.Store(resp, true)
	return resp
}

func newFakeCluster(t testing.TB, brokerNames ...string) *fakeCluster {
	fc := &fakeCluster{t: t, brokers: map[string]*fakeServer{}, queues: 4}
	for _, n := range brokerNames {
		b := newFakeServer(t, n)
		b.handle = func(req *codec.Command) *codec.Command { return fakeBrokerAnswer(b, req, codec.Success) }
		fc.brokers[n] = b
	}
	fc.ns = newFakeServer(t, "namesrv")
	fc.ns.handle = fc.route
	return fc
}

func (fc *fakeCluster) addr() string { return fc.ns.ln.Addr().String() }

// route answers GET_ROUTEINFO_BY_TOPIC with every fake broker, writable, fc.queues queues each.
func (fc *fakeCluster) route(req *codec.Command) *codec.Command {
	if req.Code != codec.GetRouteInfoByTopic {
		return codec.NewResponse(req, codec.RequestCodeNotSupported, "fake namesrv")
	}
	body := `{"brokerDatas":[`
	qd := `"queueDatas":[`
	i := 0
	for name, b := range fc.brokers {
		if i > 0 {
			body += ","
			qd += ","
		}
		body += fmt.Sprintf(`{"brokerAddrs":{"0":%q},"brokerName":%q,"cluster":"C"}`, b.ln.Addr().String(), name)
		qd += fmt.Sprintf(`{"brokerName":%q,"perm":6,"readQueueNums":%d,"writeQueueNums":%d,"topicSysFlag":0}`, name, fc.queues, fc.queues)
		i++
	}
	resp := codec.NewResponse(req, codec.Success, "")
	resp.Body = []byte(body + `],"filterServerTable":{},` + qd + `]}`)
	return resp
}

// fakeBrokerAnswer answers sends with code (and a valid send header when code means stored),
// heartbeats and unregisters with success.
func fakeBrokerAnswer(b *fakeServer, req *codec.Command, code int32) *codec.Command {
	switch req.Code {
	case codec.HeartBeat, codec.UnregisterClient:
		return codec.NewResponse(req, codec.Success, "")
	case codec.SendMessageV2, codec.SendBatchMessage, codec.SendMessage:
		n := b.sends.Add(1)
		h, err := codec.DecodeSendMessageRequestHeader(req)
		if err != nil {
			return codec.NewResponse(req, codec.SystemError, err.Error())
		}
		resp := codec.NewResponse(req, code, "fake "+codec.ResponseCodeName(code))
		if code == codec.Success || code == codec.FlushDiskTimeoutCode || code == codec.FlushSlaveTimeoutCode || code == codec.SlaveNotAvailableCode {
			resp.Header = &codec.SendMessageResponseHeader{MsgID: "7F00000100002A9F" + fmt.Sprintf("%016X", n),
				QueueID: h.QueueID, QueueOffset: n, RegionID: "DefaultRegion", TraceOn: true}
		}
		return resp
	}
	return codec.NewResponse(req, codec.RequestCodeNotSupported, "fake broker: code "+strconv.Itoa(int(req.Code)))
}

func newFakeServer(t testing.TB, name string) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{name: name, ln: ln}
	s.wg.Add(1)
	go s.accept(ln)
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn = append(s.conn, nc)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(nc)
	}
}

func (s *fakeServer) serve(nc net.Conn) {
	defer s.wg.Done()
	defer nc.Close()
	s.mu.Lock()
	lean := s.serveConn
	s.mu.Unlock()
	if lean != nil {
		lean(nc)
		return
	}
	br := bufio.NewReader(nc)
	var wmu sync.Mutex
	for {
		req, err := remote.ReadFrame(br, codec.MaxFrameSize)
		if err != nil {
			return
		}
		s.mu.Lock()
		h := s.handle
		s.mu.Unlock()
		resp := h(req)
		if resp == dropConn {
			return // the connection dies with the request unanswered
		}
		if resp == nil || req.IsOneway() {
			continue
		}
		out, err := codec.AppendFrame(nil, resp, codec.SerializeJSON)
		if err != nil {
			return
		}
		if _, cut := s.cuts.LoadAndDelete(resp); cut {
			wmu.Lock()
			_, _ = nc.Write(out[:len(out)/2])
			wmu.Unlock()
			if tc, ok := nc.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN: a reset in the middle of the response
			}
			return
		}
		wmu.Lock()
		_, err = nc.Write(out)
		wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// dropConn, returned by a fake handler, closes the connection instead of answering.
var dropConn = &codec.Command{}

func (s *fakeServer) setHandler(h func(req *codec.Command) *codec.Command) {
	s.mu.Lock()
	s.handle = h
	s.mu.Unlock()
}

// kill closes the listener and every connection: a broker that died.
func (s *fakeServer) kill() {
	s.mu.Lock()
	_ = s.ln.Close()
	for _, c := range s.conn {
		_ = c.Close()
	}
	s.conn = nil
	s.mu.Unlock()
}

// revive listens again on the address kill closed: a server that comes back.
func (s *fakeServer) revive(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatalf("fake %s cannot come back: %v", s.name, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
}

func (s *fakeServer) close() {
	s.kill()
	s.wg.Wait()
}
