package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// Only a plain TCP connection is read and written raw; TLS and in-memory connections keep their
// own methods.
func TestRawIOOnlyForTCP(t *testing.T) {
	c, _ := tcpPair(t)
	if newRawIO(c) == nil {
		t.Error("a TCP connection is not read and written raw")
	}
	if newRawIO(tls.Client(c, &tls.Config{InsecureSkipVerify: true})) != nil {
		t.Error("a TLS connection would be read and written raw")
	}
	p := newPeer(t, codec.SerializeRocketMQ, echo)
	cn, err := newClient(t).conn(context.Background(), p.addr(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := cn.rw.(*rawIO); !raw {
		t.Error("the transport's TCP connection does not use the raw calls")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if newRawIO(a) != nil {
		t.Error("an in-memory connection would be read and written raw")
	}
}

// A write far larger than the socket buffers goes out whole: the raw writer waits on the poller
// whenever the socket is full (EAGAIN) and goes on from where it stopped; the raw reader gets
// every byte in order.
func TestRawIOLargeWriteWhole(t *testing.T) {
	c, s := tcpPair(t)
	w, r := newRawIO(c), newRawIO(s)
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		p := make([]byte, 4096) // a slow reader: the writer's socket fills up many times
		for buf.Len() < len(data) {
			n, err := r.Read(p)
			if err != nil {
				break
			}
			buf.Write(p[:n])
		}
		got <- buf.Bytes()
	}()
	if n, err := w.Write(data); n != len(data) || err != nil {
		t.Fatalf("write: %d of %d bytes, %v", n, len(data), err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("read %d bytes, not what was written", len(b))
	}
}

// The raw calls keep net.Conn's contract for the end of the stream, deadlines and errors, with
// net.Conn's operation names.
func TestRawIOErrorsAsNetConn(t *testing.T) {
	t.Run("eof", func(t *testing.T) {
		c, s := tcpPair(t)
		s.Close()
		if n, err := newRawIO(c).Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("read after the peer closed: %d, %v; want 0, io.EOF", n, err)
		}
	})
	t.Run("read deadline", func(t *testing.T) {
		c, _ := tcpPair(t)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := newRawIO(c).Read(make([]byte, 10))
		var oe *net.OpError
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("read past its deadline: %v; want a read OpError matching os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("write deadline with a part written", func(t *testing.T) {
		c, _ := tcpPair(t) // nobody reads the other end
		_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		data := make([]byte, 64<<20)
		n, err := newRawIO(c).Write(data)
		if !errors.Is(err, os.ErrDeadlineExceeded) || n <= 0 || n >= len(data) {
			t.Fatalf("write past its deadline: %d of %d bytes, %v; want a part and os.ErrDeadlineExceeded", n, len(data), err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := tcpPair(t)
		_ = s.SetLinger(0) // close with a reset
		s.Close()
		w := newRawIO(c)
		var err error
		for i := 0; i < 100 && err == nil; i++ { // the first writes may be accepted before the reset lands
			_, err = w.Write([]byte("after the reset"))
			time.Sleep(time.Millisecond)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" || !strings.Contains(err.Error(), "write tcp") ||
			!(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			t.Fatalf("write to a reset connection: %v; want a write OpError with ECONNRESET or EPIPE", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := newRawIO(c)
		c.Close()
		if _, err := w.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write on a closed connection: %v; want net.ErrClosed", err)
		}
	})
}
