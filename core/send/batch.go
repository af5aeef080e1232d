package send

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// BatchResult reports a batch: one SendResult per request the batch was split into, and for
// every message, in send order, its id and where it was stored.
type BatchResult struct {
	Results []*message.SendResult
	MsgIDs  []string
	// Messages has one result per message: its id, offset id, queue and queue offset.
	Messages []message.SendResult
}

// add records one request's result and spreads it over the request's messages: the broker
// answers with the first offset and the comma-joined offset ids, in order.
func (b *BatchResult) add(res *message.SendResult, ids []string) {
	b.Results = append(b.Results, res)
	b.MsgIDs = append(b.MsgIDs, ids...)
	offIDs := codec.SplitMsgIDs(res.OffsetMsgID)
	for i, id := range ids {
		m := *res
		m.MsgID, m.QueueOffset = id, res.QueueOffset+int64(i)
		if len(offIDs) == len(ids) {
			m.OffsetMsgID = offIDs[i]
		}
		b.Messages = append(b.Messages, m)
	}
}

// BatchError is returned when part of a batch was sent and the rest was not: Sent lists what the
// broker stored, Unsent the ids of the messages that were not sent, so nothing is lost silently.
type BatchError struct {
	Sent   *BatchResult
	Unsent []string
	Err    error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("send: batch partly sent (%d stored, %d not sent): %v", len(e.Sent.Messages), len(e.Unsent), e.Err)
}

// Unwrap returns the error that stopped the batch.
func (e *BatchError) Unwrap() error { return e.Err }

// asBatch marks a call as a batch request carrying records, whose ids are ids and whose bodies
// carry sysFlag's compression.
func asBatch(records []*message.Message, ids string, sysFlag int32) CallOption {
	return func(c *call) { c.batch, c.batchRecords, c.batchIDs, c.wireFlag = true, records, ids, sysFlag }
}

// SendBatch sends messages of one topic as SEND_BATCH_MESSAGE requests, each message with its own
// id. A batch larger than the maximum message size is split into requests that fit (Java refuses
// it instead): the first request's queue is chosen as for any send (opts: ToQueue, WithSelector,
// OrderedBy, or the default), and every later request goes to that same queue, so the batch stays
// together and in order. When a later request fails, the error is a *BatchError that lists what
// was stored and what was not. Bodies are compressed when they add up to the compression
// threshold (see compressBatch). Messages of a batch may not carry a delay or a transaction, as
// with Java, and must agree on WAIT. Retries follow the sync rules, per request.
func (p *Producer) SendBatch(ctx context.Context, msgs []*message.Message, opts ...CallOption) (*BatchResult, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if err := callOptionsOK(opts); err != nil {
		return nil, err
	}
	topic, err := topicOf(msgs)
	if err != nil {
		return nil, err
	}
	wait := msgs[0].WaitStoreMsgOK()
	for i, m := range msgs {
		if err := codec.ValidateMessage(m, p.cfg.maxMessageSize); err != nil {
			return nil, fmt.Errorf("batch message %d: %w", i, err)
		}
		if m.DelayLevel() > 0 {
			return nil, fmt.Errorf("%w: batch message %d has a delay level; batches cannot be delayed", codec.ErrValidation, i)
		}
		if m.Property(message.PropertyTransactionPrepared) != "" {
			return nil, fmt.Errorf("%w: batch message %d is transactional; batches cannot be", codec.ErrValidation, i)
		}
		if m.WaitStoreMsgOK() != wait {
			return nil, fmt.Errorf("%w: batch messages disagree on %s", codec.ErrValidation, message.PropertyWaitStoreMsgOK)
		}
	}
	topic = p.withoutNamespace(topic) // newCall puts it on the wire with the namespace
	for _, m := range msgs {
		m.Topic = topic
		if m.UniqID() == "" {
			m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
		}
	}
	enc, sysFlag, err := p.compressBatch(msgs)
	if err != nil {
		return nil, err
	}
	chunks, err := p.splitBatch(enc)
	if err != nil {
		return nil, err
	}
	out := &BatchResult{}
	callOpts := opts[:len(opts):len(opts)]
	for i, chunk := range chunks {
		ids := make([]string, len(chunk))
		for j, m := range chunk {
			ids[j] = m.UniqID()
		}
		// The broker appends the request's own properties to every message of the batch, and
		// readers keep the last value of a repeated name: only what all messages share goes
		// here, never a UNIQ_KEY (see docs/wire.md).
		wrapper := &message.Message{Topic: topic, Body: codec.EncodeBatch(nil, chunk)}
		wrapper.SetWaitStoreMsgOK(wait)
		c, err := p.newCall(ctx, wrapper, ModeSync, append(callOpts, asBatch(chunk, strings.Join(ids, ","), sysFlag)))
		var res *message.SendResult
		if err == nil {
			res, err = c.runSync()
		}
		if err != nil {
			if i == 0 {
				return nil, err
			}
			var unsent []string
			for _, rest := range chunks[i:] {
				for _, m := range rest {
					unsent = append(unsent, m.UniqID())
				}
			}
			return out, &BatchError{Sent: out, Unsent: unsent, Err: err}
		}
		out.add(res, ids)
		// The rest of the batch follows the first request to its queue.
		callOpts = []CallOption{ToQueue(res.Queue)}
	}
	return out, nil
}

// spreadBatchProperties writes what the attempt's hooks set on a SendBatch wrapper into every
// record, and leaves the request only WAIT. The 4.9 to 5.3 brokers append a batch request's
// properties to each message they store, but the 5.5 broker stores the records as they came and
// drops the request's (its MessageExtEncoder no longer reads them): a trace id a Before hook set
// on a batch would be stored on 5.3.3 and lost on 5.5.1. Written into the records, it is stored
// on every release, and with the same winner as the appending brokers give a name both carry (the
// hook's value, the last one readers keep). The caller's messages are left as they are: the
// records are copies, made again at each attempt, since the hooks run again.
func (c *call) spreadBatchProperties() error {
	c.spreadRecords, c.spreadBody, c.spreadProps = nil, nil, nil
	props := c.msg.Properties
	shared := len(props) // the names the hooks set: all but WAIT
	if _, ok := props[message.PropertyWaitStoreMsgOK]; ok {
		shared--
	}
	if shared == 0 {
		return nil
	}
	recs := make([]*message.Message, len(c.batchRecords))
	for i, r := range c.batchRecords {
		cp := *r
		cp.Properties = make(map[string]string, len(r.Properties)+shared)
		maps.Copy(cp.Properties, r.Properties)
		for k, v := range props {
			if k != message.PropertyWaitStoreMsgOK {
				cp.Properties[k] = v
			}
		}
		recs[i] = &cp
	}
	body := codec.EncodeBatch(nil, recs)
	if limit := c.p.cfg.maxMessageSize; len(body) > limit {
		return &codec.ValidationError{Field: "batch", Rule: fmt.Sprintf(
			"comes to %d bytes once the properties the Before hooks set are written into each of its %d messages, over the maximum message size of %d",
			len(body), len(recs), limit)}
	}
	wire := map[string]string{}
	if v, ok := props[message.PropertyWaitStoreMsgOK]; ok {
		wire[message.PropertyWaitStoreMsgOK] = v
	}
	c.spreadRecords, c.spreadBody, c.spreadProps = recs, body, wire
	return nil
}

// compressBatch compresses every body of a batch when they add up to the compression threshold
// and compressing saves bytes. The sysflag travels per request, so it is all or nothing: every
// record of the request is compressed, and consumers inflate each stored message on its own. (Java
// never compresses batches.) The caller's messages are left as they are: the records are copies.
func (p *Producer) compressBatch(msgs []*message.Message) ([]*message.Message, int32, error) {
	t := p.cfg.compressThreshold
	total := 0
	for _, m := range msgs {
		total += len(m.Body)
	}
	if t <= 0 || total < t {
		return msgs, 0, nil
	}
	return p.compressRecords(msgs)
}

// compressRecords compresses every body of msgs, into copies, unless that saves no bytes overall.
func (p *Producer) compressRecords(msgs []*message.Message) ([]*message.Message, int32, error) {
	total := 0
	for _, m := range msgs {
		total += len(m.Body)
	}
	out := make([]*message.Message, len(msgs))
	packed := 0
	for i, m := range msgs {
		z, err := codec.Compress(nil, m.Body, p.cfg.compressType, p.cfg.compressLevel)
		if err != nil {
			return nil, 0, err
		}
		c := *m
		c.Body = z
		out[i] = &c
		packed += len(z)
	}
	if packed >= total {
		return msgs, 0, nil
	}
	return out, p.cfg.compressType.SysFlag(), nil
}

// splitBatch cuts msgs into runs whose encoded batch body fits the maximum message size.
func (p *Producer) splitBatch(msgs []*message.Message) ([][]*message.Message, error) {
	var chunks [][]*message.Message
	start, size := 0, 0
	for i, m := range msgs {
		n := codec.BatchRecordSize(m)
		if n > p.cfg.maxMessageSize {
			return nil, fmt.Errorf("%w: batch message %d encodes to %d bytes, over the %d-byte maximum",
				codec.ErrValidation, i, n, p.cfg.maxMessageSize)
		}
		if size+n > p.cfg.maxMessageSize {
			chunks = append(chunks, msgs[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(chunks, msgs[start:]), nil
}
