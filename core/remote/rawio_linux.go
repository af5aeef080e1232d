package remote

import (
	"io"
	"net"
	"os"
	"syscall"
)

// On Linux a plain TCP connection is read and written with read(2) and write(2) made directly
// under the runtime's network poller (syscall.RawConn), not through net.Conn's Read and Write.
// Those enter the scheduler's system-call state on every call: when the process was idle (every
// goroutine waiting on the network, as between the round trips of sync sends), that wakes the
// scheduler's monitor thread with a futex call, which then polls every 20 µs for a while. The
// socket is non-blocking, so neither call ever blocks: EAGAIN hands the wait back to the poller,
// which honours the connection's deadlines as net.Conn does. Measured in docs/performance.md
// ("Raw socket calls"). TLS and other connections keep net.Conn's methods; race-detector builds
// make the same calls through syscall.Read and syscall.Write (rawsys_race_linux.go).

// rawIO reads and writes one TCP connection through its syscall.RawConn. The connection's
// reader goroutine is its only reader and the holder of the flusher's place its only writer, so
// the fields the poller callbacks fill are never shared.
type rawIO struct {
	nc net.Conn // for the addresses of errors
	sc syscall.RawConn

	rbuf  []byte
	rn    int
	rerr  syscall.Errno
	wbuf  []byte
	wn    int
	werr  syscall.Errno
	readF func(uintptr) bool
	wrF   func(uintptr) bool
}

// newRawIO returns the raw reader and writer of nc, or nil when nc is not a plain TCP connection.
func newRawIO(nc net.Conn) *rawIO {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{nc: nc, sc: sc}
	r.readF, r.wrF = r.read, r.write // bound once: a method value per call would allocate
	return r
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, errno := sysRead(fd, r.rbuf)
		switch errno {
		case 0:
			r.rn = n // 0: the end of the stream (p is never empty)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.rerr = errno
			return true
		}
	}
}

func (r *rawIO) write(fd uintptr) bool {
	for r.wn < len(r.wbuf) {
		n, errno := sysWrite(fd, r.wbuf[r.wn:])
		switch errno {
		case 0:
			r.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.werr = errno
			return true
		}
	}
	return true
}

// Read is net.Conn's Read: at most len(p) bytes, io.EOF at the end of the stream.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerr = p, 0, 0
	err := r.sc.Read(r.readF)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, r.opError("read", err)
	case r.rerr != 0:
		return 0, r.opError("read", os.NewSyscallError("read", r.rerr))
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// Write is net.Conn's Write: all of p, or how much of it was written and why not the rest.
func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.wbuf, r.wn, r.werr = p, 0, 0
	err := r.sc.Write(r.wrF)
	n := r.wn
	r.wbuf = nil
	switch {
	case err != nil:
		return n, r.opError("write", err)
	case r.werr != 0:
		return n, r.opError("write", os.NewSyscallError("write", r.werr))
	}
	return n, nil
}

// opError names the operation as net.Conn does ("write", not RawConn's "raw-write").
func (r *rawIO) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: r.nc.LocalAddr(), Addr: r.nc.RemoteAddr(), Err: err}
}
