package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// floorHeader is what the floor's frames carry besides the message: the producer settings that
// go into a SEND_MESSAGE_V2 header, so the frames are the ones the producer would write.
type floorHeader struct {
	serialize             codec.SerializeType
	group                 string
	createTopicKey        string
	defaultTopicQueueNums int
	unitMode              bool
}

// floorConn is one broker's connection of the floor: its pre-encoded frames (indexes into the
// run's frame table), and what its reader has seen.
type floorConn struct {
	broker, addr string
	frames       []int
	conn         net.Conn
	written      atomic.Int64 // frames handed to the socket
	received     atomic.Int64 // responses read
}

// floorRun is --mode floor: the ceiling a producer is measured against. Every frame a send of the
// producer would write (SEND_MESSAGE_V2, the same header serialization, the body, its own
// UNIQ_KEY and WAIT=true) is encoded before the clock starts; the measured phase only writes them,
// pipelined, on one TCP connection per broker (the master of each broker of the topic's route),
// at most o.inflight outstanding in all, while one reader per connection counts the responses (a
// code other than SUCCESS is a failed send). No routing, retry, hook or callback runs: what is
// left is the socket and the broker.
func floorRun(ctx, stop context.Context, p sender, o benchOptions, h floorHeader, progress io.Writer) (*benchResult, error) {
	rd, err := p.TopicRoute(ctx, o.topic)
	if err != nil {
		return nil, fmt.Errorf("bench: floor: route of %s: %w", o.topic, err)
	}
	targets := floorTargets(rd)
	if len(targets) == 0 {
		return nil, fmt.Errorf("bench: floor: topic %s has no writable queue on a broker with a master", o.topic)
	}
	body := benchBody(o.size)
	warmup(ctx, stop, p, o, body)

	frames, err := floorFrames(o, h, targets) // before the clock starts
	if err != nil {
		return nil, err
	}
	var conns []*floorConn
	seen := map[*floorConn]bool{}
	for _, t := range targets {
		if !seen[t.conn] {
			seen[t.conn] = true
			conns = append(conns, t.conn)
		}
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	for _, fc := range conns {
		if fc.conn, err = d.DialContext(ctx, "tcp", fc.addr); err != nil {
			for _, c := range conns {
				if c.conn != nil {
					c.conn.Close()
				}
			}
			return nil, fmt.Errorf("bench: floor: dialing %s (%s): %w", fc.broker, fc.addr, err)
		}
	}

	m := startMeter(ctx, stop, p, o, progress)
	starts := make([]atomic.Int64, len(frames)) // nanoseconds since m.start of each frame's write
	sem := make(chan struct{}, o.inflight)
	runCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	var writers, readers sync.WaitGroup
	for _, fc := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := floorRead(runCtx, fc, m, starts, sem); err != nil {
				abort(err)
			}
		}()
		writers.Add(1)
		go func() {
			defer writers.Done()
			if err := floorWrite(runCtx, fc, m, frames, starts, sem, o.floorWork); err != nil {
				abort(err)
			}
		}()
	}
	writers.Wait()
drain: // every response, or the end of the run
	for i := 0; i < cap(sem); i++ {
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
			break drain
		}
	}
	abort(errFloorDone)
	for _, fc := range conns {
		fc.conn.Close() // ends the readers
	}
	readers.Wait()
	if err := context.Cause(runCtx); !errors.Is(err, errFloorDone) {
		// A broken connection or the run's timeout: what was written and never answered failed.
		var lost int64
		for _, fc := range conns {
			lost += fc.written.Load() - fc.received.Load()
		}
		if lost > 0 {
			m.failed.Add(lost)
			m.done.Add(lost)
		}
		m.firstErr.CompareAndSwap(nil, err.Error())
	}
	return m.finish(p), nil
}

// floorTarget is one writable queue and the connection to its broker's master.
type floorTarget struct {
	conn  *floorConn
	queue int32
}

// floorTargets lists the topic's writable queues broker by broker, in the order the producer's
// round robin takes them.
func floorTargets(rd *codec.TopicRouteData) []floorTarget {
	var targets []floorTarget
	for _, qd := range rd.QueueDatas {
		if !qd.Writable() || qd.WriteQueueNums < 1 {
			continue
		}
		addr := ""
		for _, bd := range rd.BrokerDatas {
			if bd.BrokerName == qd.BrokerName {
				addr = bd.MasterAddr()
			}
		}
		if addr == "" {
			continue
		}
		fc := &floorConn{broker: qd.BrokerName, addr: addr}
		for q := int32(0); q < qd.WriteQueueNums; q++ {
			targets = append(targets, floorTarget{fc, q})
		}
	}
	return targets
}

// floorFrames encodes o.count SEND_MESSAGE_V2 frames, frame i (opaque i+1) to targets[i%n], each
// with its own UNIQ_KEY and WAIT=true, and hands each target's connection its frames.
func floorFrames(o benchOptions, h floorHeader, targets []floorTarget) ([][]byte, error) {
	body := benchBody(o.size)
	frames := make([][]byte, o.count)
	for i := range frames {
		t := targets[i%len(targets)]
		props := map[string]string{
			message.PropertyUniqClientMessageIDKeyIdx: codec.NextUniqID(),
			message.PropertyWaitStoreMsgOK:            "true",
		}
		hdr := &codec.SendMessageRequestHeader{
			ProducerGroup: h.group, Topic: o.topic, DefaultTopic: h.createTopicKey, UnitMode: h.unitMode,
			DefaultTopicQueueNums: int32(h.defaultTopicQueueNums), QueueID: t.queue,
			BornTimestamp: time.Now().UnixMilli(), Properties: codec.EncodeProperties(props), BrokerName: t.conn.broker,
		}
		cmd := codec.NewRequest(codec.SendMessageV2, (*codec.SendMessageRequestHeaderV2)(hdr), body)
		cmd.Opaque = int32(i + 1)
		var err error
		if frames[i], err = codec.AppendFrame(nil, cmd, h.serialize); err != nil {
			return nil, fmt.Errorf("bench: floor: encoding frame %d: %w", i, err)
		}
		t.conn.frames = append(t.conn.frames, i)
	}
	return frames, nil
}

var errFloorDone = errors.New("floor: every response read")

// floorWrite writes fc's frames, as many at once as the in-flight bound lets it (one writev),
// after work (--floor-work) of busy waiting per frame.
func floorWrite(ctx context.Context, fc *floorConn, m *meter, frames [][]byte, starts []atomic.Int64, sem chan struct{},
	work time.Duration) error {
	const most = 256 << 10 // bytes per write
	more := func() bool {  // another in-flight slot, without waiting for one
		select {
		case sem <- struct{}{}:
			return true
		default:
			return false
		}
	}
	var vec net.Buffers // reused: WriteTo consumes a copy of it
	for next := 0; next < len(fc.frames); {
		if !m.claim(1) {
			return nil
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		k, size := 1, len(frames[fc.frames[next]])
		for next+k < len(fc.frames) && size < most && more() {
			if !m.claim(1) {
				<-sem
				break
			}
			size += len(frames[fc.frames[next+k]])
			k++
		}
		batch := fc.frames[next : next+k]
		vec = vec[:0]
		now := int64(time.Since(m.start))
		for _, i := range batch {
			starts[i].Store(now)
			vec = append(vec, frames[i])
		}
		if work > 0 { // after the start time is taken: a producer's own work counts in its latency
			for t0, d := time.Now(), time.Duration(k)*work; time.Since(t0) < d; {
			}
		}
		fc.written.Add(int64(len(batch)))
		next += len(batch)
		if err := fc.conn.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil {
			return err
		}
		w := vec
		if _, err := w.WriteTo(fc.conn); err != nil {
			return fmt.Errorf("writing to %s (%s): %w", fc.broker, fc.addr, err)
		}
	}
	return nil
}

// floorRead reads fc's responses until ctx ends, recording each against its frame's write time.
func floorRead(ctx context.Context, fc *floorConn, m *meter, starts []atomic.Int64, sem chan struct{}) error {
	r := bufio.NewReaderSize(fc.conn, 64<<10)
	var prefix [4]byte
	buf := make([]byte, 4096)
	for {
		// A broker that stops answering ends the run after 30 s of silence with sends outstanding.
		_ = fc.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			var ne net.Error
			if ctx.Err() != nil {
				return nil
			}
			if errors.As(err, &ne) && ne.Timeout() && fc.written.Load() == fc.received.Load() {
				continue // idle, as under a slow --rate
			}
			return fmt.Errorf("reading from %s (%s): %w", fc.broker, fc.addr, err)
		}
		n, err := codec.FrameLength(prefix, codec.MaxFrameSize)
		if err != nil {
			return fmt.Errorf("reading from %s (%s): %w", fc.broker, fc.addr, err)
		}
		if n > cap(buf) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading from %s (%s): %w", fc.broker, fc.addr, err)
		}
		resp, err := codec.DecodeFrame(buf)
		if err != nil {
			return fmt.Errorf("response from %s (%s): %w", fc.broker, fc.addr, err)
		}
		i := int(resp.Opaque) - 1
		if !resp.IsResponse() || i < 0 || i >= len(starts) {
			continue // a request of the broker's own (none is expected of an unregistered client)
		}
		var sendErr error
		if resp.Code != codec.Success {
			sendErr = fmt.Errorf("%s: broker code %d %s: %s", fc.broker, resp.Code, codec.ResponseCodeName(resp.Code), resp.Remark)
		}
		m.record(m.start.Add(time.Duration(starts[i].Load())), 1, sendErr)
		fc.received.Add(1)
		<-sem
	}
}
