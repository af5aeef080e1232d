package remote

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
)

// peer is a minimal in-process remoting server for fault injection: it decodes frames and hands
// each to a handler that may answer, stall, or kill the connection.
type peer struct {
	t  testing.TB
	ln net.Listener
	st codec.SerializeType

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
	// handle is called for every inbound frame; it runs on the connection's reader goroutine.
	handle func(p *peerConn, req *codec.Command)
}

type peerConn struct {
	nc  net.Conn
	wmu sync.Mutex
	st  codec.SerializeType
}

func (pc *peerConn) send(c *codec.Command) error {
	b, err := codec.AppendFrame(nil, c, pc.st)
	if err != nil {
		return err
	}
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	_, err = pc.nc.Write(b)
	return err
}

func (pc *peerConn) reply(req *codec.Command, code int32, remark string, body []byte, ext ...codec.Field) {
	r := codec.NewResponse(req, code, remark)
	r.Language = codec.LanguageJava
	r.Ext = ext
	r.Body = body
	_ = pc.send(r)
}

func newPeer(t testing.TB, st codec.SerializeType, handle func(p *peerConn, req *codec.Command)) *peer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, ln: ln, st: st, handle: handle}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *peer) addr() string { return p.ln.Addr().String() }

func (p *peer) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, nc)
		p.mu.Unlock()
		pc := &peerConn{nc: nc, st: p.st}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer nc.Close()
			br := bufio.NewReader(nc)
			for {
				c, err := ReadFrame(br, codec.MaxFrameSize)
				if errors.Is(err, codec.ErrMalformed) {
					p.t.Errorf("peer: bad frame: %v", err)
				}
				if err != nil {
					return // the client closed the connection
				}
				p.handle(pc, c)
			}
		}()
	}
}

// killConns closes every accepted connection (a broker dying under the client).
func (p *peer) killConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *peer) close() {
	_ = p.ln.Close()
	p.killConns()
	p.wg.Wait()
}
