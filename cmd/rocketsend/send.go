package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

type sendFlags struct {
	producerFlags
	topic      string
	body       string
	file       string
	count      int
	mode       string
	keys       string
	tags       string
	props      []string
	orderKey   string
	delayLevel int
	deliverAt  string
	deliverIn  time.Duration
	queue      string
	broker     string
	lines      bool
	timeout    time.Duration
	json       bool
}

// maxDelayLevel is the last level of a broker's default messageDelayLevel table
// ("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"). A broker given a longer table
// is rare; one given 99 would clamp it to its last level without a word, so the command refuses.
const maxDelayLevel = 18

// lineMessage is one line of a JSON-lines input file.
type lineMessage struct {
	Topic      string            `json:"topic"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"body_base64"`
	Tags       string            `json:"tags"`
	Keys       string            `json:"keys"`
	Properties map[string]string `json:"properties"`
	DelayLevel int               `json:"delay_level"`
	OrderKey   string            `json:"order_key"`
}

// sendResult is what send prints per message with --json.
type sendResult struct {
	Index       int    `json:"index"`
	Status      string `json:"status,omitempty"`
	Broker      string `json:"broker,omitempty"`
	QueueID     int    `json:"queueId"`
	QueueOffset int64  `json:"queueOffset"`
	MsgID       string `json:"msgId,omitempty"`
	OffsetMsgID string `json:"offsetMsgId,omitempty"`
	Error       string `json:"error,omitempty"`
}

func newSendCmd() *cobra.Command {
	var f sendFlags
	c := &cobra.Command{
		Use:   "send",
		Short: "Send one or many messages, from flags or a JSON-lines file, in any mode, through the configured plugins",
		Example: `  rocketsend send -n 127.0.0.1:9876 -t Orders --body '{"id":42}' --keys order-42 --tags created
  rocketsend send -c rocketsend.hcl -t Orders --body hello --count 10 --mode async
  rocketsend send -c rocketsend.hcl --file messages.jsonl --json     # {"topic":"Orders","body":"...","keys":"k"} per line
  seq 100 | rocketsend send -n 127.0.0.1:9876 -t Orders --lines       # one message per line of standard input
  rocketsend send -n 127.0.0.1:9876 -t Orders --body x --queue broker-a:2
  rocketsend send -n 127.0.0.1:9876 -t Orders --body x --deliver-after 30s   # RocketMQ 5 timer message`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSend(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), &f)
		},
	}
	f.register(c)
	fl := c.Flags()
	fl.StringVarP(&f.topic, "topic", "t", "", "topic (default for file lines without one)")
	fl.StringVar(&f.body, "body", "", "message body")
	fl.StringVar(&f.file, "file", "", `JSON-lines file of messages ("-" for standard input): topic, body or body_base64, tags, keys, properties, delay_level, order_key; with --lines, plain lines`)
	fl.IntVar(&f.count, "count", 1, "send the flag-built message this many times")
	fl.StringVar(&f.mode, "mode", "sync", "sync, async, oneway or batch")
	fl.StringVar(&f.keys, "keys", "", "message keys (space-separated)")
	fl.StringVar(&f.tags, "tags", "", "message tags")
	fl.StringArrayVar(&f.props, "prop", nil, "user property name=value (repeatable)")
	fl.StringVar(&f.orderKey, "order-key", "", "send in order by this key (Java's hash selector)")
	fl.IntVar(&f.delayLevel, "delay-level", 0, "delay level 1-18 of the broker's default messageDelayLevel table (1s 5s 10s 30s 1m 2m 3m ... 1h 2h)")
	fl.StringVar(&f.deliverAt, "deliver-at", "", "RocketMQ 5 timer delivery at this time: RFC 3339 (2026-12-24T18:00:00Z) or Unix milliseconds")
	fl.DurationVar(&f.deliverIn, "deliver-after", 0, "RocketMQ 5 timer delivery this long from now (whole seconds, at most the broker's timerMaxDelaySec, 3 days)")
	fl.StringVar(&f.queue, "queue", "", "send to this queue, BROKER:QUEUE_ID (one attempt: no retry on another queue)")
	fl.StringVar(&f.broker, "broker", "", "send only to queues of this broker (round robin over them)")
	fl.BoolVar(&f.lines, "lines", false, "one message per line of --file (default: standard input), the line is the body; the other flags apply to each")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "time for the whole command")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per message")
	return c
}

type outMsg struct {
	msg      *message.Message
	orderKey string
}

func (f *sendFlags) messages(in io.Reader) ([]outMsg, error) {
	if f.lines {
		return f.lineMessages(in)
	}
	if f.file == "" {
		if f.topic == "" {
			return nil, usagef("send: --topic is required (or --file)")
		}
		if f.count < 1 {
			return nil, usagef("send: --count %d must be at least 1", f.count)
		}
		var out []outMsg
		for i := 0; i < f.count; i++ {
			m := message.New(f.topic, []byte(f.body))
			if err := f.decorate(m); err != nil {
				return nil, err
			}
			out = append(out, outMsg{m, f.orderKey})
		}
		return out, nil
	}
	r := in
	if f.file != "-" {
		fh, err := os.Open(f.file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	var out []outMsg
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var lm lineMessage
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&lm); err != nil {
			return nil, fmt.Errorf("%s:%d: %v (want a JSON object with topic, body or body_base64, tags, keys, properties, delay_level, order_key)", f.file, line, err)
		}
		topic := lm.Topic
		if topic == "" {
			topic = f.topic
		}
		if topic == "" {
			return nil, fmt.Errorf("%s:%d: no topic (set \"topic\" or --topic)", f.file, line)
		}
		var body []byte
		switch {
		case lm.Body != nil && lm.BodyBase64 != nil:
			return nil, fmt.Errorf("%s:%d: give body or body_base64, not both", f.file, line)
		case lm.Body != nil:
			body = []byte(*lm.Body)
		case lm.BodyBase64 != nil:
			b, err := base64.StdEncoding.DecodeString(*lm.BodyBase64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: body_base64: %v", f.file, line, err)
			}
			body = b
		}
		m := message.New(topic, body)
		if err := f.decorate(m); err != nil {
			return nil, err
		}
		if lm.Tags != "" {
			m.SetTags(lm.Tags)
		}
		if lm.Keys != "" {
			m.SetKeys(strings.Fields(lm.Keys)...)
		}
		for k, v := range lm.Properties {
			if err := checkProperty(k); err != nil {
				return nil, fmt.Errorf("%s:%d: properties: %w", f.file, line, err)
			}
			if err := m.SetProperty(k, v); err != nil {
				return nil, usageError{fmt.Errorf("%s:%d: properties: %w", f.file, line, err)}
			}
		}
		if lm.DelayLevel != 0 {
			if err := checkDelayLevel(lm.DelayLevel); err != nil {
				return nil, fmt.Errorf("%s:%d: delay_level: %w", f.file, line, err)
			}
			m.SetDelayLevel(lm.DelayLevel)
		}
		key := lm.OrderKey
		if key == "" {
			key = f.orderKey
		}
		out = append(out, outMsg{m, key})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no messages", f.file)
	}
	return out, nil
}

// lineMessages reads one message per line of --file (standard input when it is "" or "-"): the
// line is the body, the flags give the rest. Empty lines are skipped.
func (f *sendFlags) lineMessages(in io.Reader) ([]outMsg, error) {
	if f.topic == "" {
		return nil, usagef("send: --lines needs --topic")
	}
	name, r := "standard input", in
	if f.file != "" && f.file != "-" {
		fh, err := os.Open(f.file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		name, r = f.file, fh
	}
	var out []outMsg
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		m := message.New(f.topic, append([]byte(nil), sc.Bytes()...))
		if err := f.decorate(m); err != nil {
			return nil, err
		}
		out = append(out, outMsg{m, f.orderKey})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("send --lines: %s has no lines", name)
	}
	return out, nil
}

// checkProperty refuses the names the producer or the broker own (UNIQ_KEY, TAGS, DELAY, ...,
// Java's MessageConst.STRING_HASH_SET): set through --prop, UNIQ_KEY=abc became the message id.
func checkProperty(name string) error {
	if message.IsReserved(name) {
		return usagef("%q is a system property the producer sets itself; use --tags, --keys, --delay-level, --deliver-at or --deliver-after, or another name", name)
	}
	return nil
}

func checkDelayLevel(level int) error {
	if level < 1 || level > maxDelayLevel {
		return usagef("delay level %d is outside the broker's table (1..%d: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); for another delay use --deliver-after", level, maxDelayLevel)
	}
	return nil
}

// check reports the flags' mistakes before anything is sent.
func (f *sendFlags) check() error {
	switch f.mode {
	case "sync", "async", "oneway", "batch":
	default:
		return usagef("send: --mode %q: want sync, async, oneway or batch", f.mode)
	}
	if f.delayLevel != 0 {
		if err := checkDelayLevel(f.delayLevel); err != nil {
			return fmt.Errorf("send: --delay-level: %w", err)
		}
	}
	timers := 0
	for _, set := range []bool{f.delayLevel != 0, f.deliverAt != "", f.deliverIn != 0} {
		if set {
			timers++
		}
	}
	if timers > 1 {
		return usagef("send: give one of --delay-level, --deliver-at and --deliver-after")
	}
	if f.deliverIn < 0 {
		return usagef("send: --deliver-after %v must be positive", f.deliverIn)
	}
	if f.deliverAt != "" {
		if _, err := parseDeliverAt(f.deliverAt); err != nil {
			return err
		}
	}
	if f.queue != "" && f.broker != "" {
		return usagef("send: give --queue or --broker, not both")
	}
	if (f.queue != "" || f.broker != "") && f.orderKey != "" {
		return usagef("send: --order-key chooses the queue itself: drop --queue or --broker")
	}
	if f.queue != "" {
		if _, err := f.targetQueue(); err != nil {
			return err
		}
	}
	return nil
}

func parseDeliverAt(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usagef("send: --deliver-at %q: want an RFC 3339 time (2026-12-24T18:00:00Z) or Unix milliseconds", s)
	}
	return t, nil
}

// targetQueue parses --queue BROKER:ID.
func (f *sendFlags) targetQueue() (message.MessageQueue, error) {
	b, id, ok := strings.Cut(f.queue, ":")
	n, err := strconv.Atoi(id)
	if !ok || b == "" || err != nil || n < 0 {
		return message.MessageQueue{}, usagef("send: --queue %q: want BROKER:QUEUE_ID, like broker-a:0", f.queue)
	}
	return message.MessageQueue{Topic: f.topic, BrokerName: b, QueueID: n}, nil
}

// decorate applies the flags' tags, keys, properties and delay.
func (f *sendFlags) decorate(m *message.Message) error {
	if f.tags != "" {
		m.SetTags(f.tags)
	}
	if f.keys != "" {
		m.SetKeys(strings.Fields(f.keys)...)
	}
	for _, p := range f.props {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("send: --prop %q: want name=value", p)
		}
		if err := checkProperty(k); err != nil {
			return fmt.Errorf("send: --prop: %w", err)
		}
		if err := m.SetProperty(k, v); err != nil {
			return usageError{fmt.Errorf("send: --prop %q: %w", p, err)}
		}
	}
	if f.delayLevel > 0 {
		m.SetDelayLevel(f.delayLevel)
	}
	if f.deliverAt != "" {
		t, err := parseDeliverAt(f.deliverAt)
		if err != nil {
			return err
		}
		m.SetDeliverAt(t)
	}
	if f.deliverIn > 0 {
		m.SetDeliverAfter(f.deliverIn)
	}
	return nil
}

// brokerSelector round-robins over one broker's queues.
type brokerSelector struct {
	broker string
	next   atomic.Uint32
}

func (b *brokerSelector) Select(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
	var mine []message.MessageQueue
	for _, q := range qs {
		if q.BrokerName == b.broker {
			mine = append(mine, q)
		}
	}
	if len(mine) == 0 {
		var names []string
		for _, q := range qs {
			if !slices.Contains(names, q.BrokerName) {
				names = append(names, q.BrokerName)
			}
		}
		return message.MessageQueue{}, fmt.Errorf("--broker %s: the topic has no writable queue there (its brokers: %s)", b.broker, strings.Join(names, ", "))
	}
	return mine[int(b.next.Add(1)-1)%len(mine)], nil
}

func runSend(ctx context.Context, out io.Writer, in io.Reader, f *sendFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	msgs, err := f.messages(in)
	if err != nil {
		return err
	}
	var target []send.CallOption
	switch {
	case f.queue != "":
		q, _ := f.targetQueue()
		target = []send.CallOption{send.ToQueue(q)}
	case f.broker != "":
		target = []send.CallOption{send.WithSelector(&brokerSelector{broker: f.broker}, nil)}
	}
	batchKey := ""
	if f.mode == "batch" {
		// A batch is one request to one queue: one order key (or one target) for all of it.
		for i, m := range msgs {
			if i > 0 && m.orderKey != batchKey {
				return usagef("send: --mode batch sends one request to one queue; lines have different order keys (%q, %q)", batchKey, m.orderKey)
			}
			batchKey = m.orderKey
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	p, err := f.producer(ctx)
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	results := make([]sendResult, len(msgs))
	record := func(i int, r *message.SendResult, err error) {
		res := sendResult{Index: i}
		if err != nil {
			res.Error = err.Error()
		} else if r != nil {
			res.Status, res.Broker, res.QueueID, res.QueueOffset = r.Status.String(), r.Queue.BrokerName, r.Queue.QueueID, r.QueueOffset
			res.MsgID, res.OffsetMsgID = r.MsgID, r.OffsetMsgID
		} else {
			res.Status, res.MsgID = "SENT_ONEWAY", msgs[i].msg.UniqID()
		}
		results[i] = res
	}
	opts := func(m outMsg) []send.CallOption {
		if m.orderKey != "" {
			return []send.CallOption{send.OrderedBy(m.orderKey)}
		}
		return target
	}
	switch f.mode {
	case "sync":
		for i, m := range msgs {
			r, err := p.Send(ctx, m.msg, opts(m)...)
			record(i, r, err)
		}
	case "oneway":
		for i, m := range msgs {
			record(i, nil, p.SendOneway(ctx, m.msg, opts(m)...))
		}
	case "async":
		var wg sync.WaitGroup
		for i, m := range msgs {
			wg.Add(1)
			if err := p.SendAsync(ctx, m.msg, func(r *message.SendResult, err error) { record(i, r, err); wg.Done() }, opts(m)...); err != nil {
				record(i, nil, err)
				wg.Done()
			}
		}
		wg.Wait()
	case "batch":
		batch := make([]*message.Message, len(msgs))
		for i, m := range msgs {
			batch[i] = m.msg
		}
		br, err := p.SendBatch(ctx, batch, opts(outMsg{orderKey: batchKey})...)
		for i := range msgs {
			switch {
			case br != nil && i < len(br.Messages):
				record(i, &br.Messages[i], nil)
			case err != nil:
				record(i, nil, err)
			}
		}
	}
	failed := 0
	enc := json.NewEncoder(out)
	for _, r := range results {
		if r.Error != "" {
			failed++
		}
		if f.json {
			_ = enc.Encode(r)
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(out, "#%d FAILED: %s\n", r.Index, r.Error)
		} else if r.Broker == "" {
			fmt.Fprintf(out, "#%d %s msgId=%s\n", r.Index, r.Status, r.MsgID)
		} else {
			fmt.Fprintf(out, "#%d %s %s:%d offset=%d msgId=%s\n", r.Index, r.Status, r.Broker, r.QueueID, r.QueueOffset, r.MsgID)
		}
	}
	if failed > 0 {
		return fmt.Errorf("send: %d of %d messages failed", failed, len(msgs))
	}
	return nil
}
