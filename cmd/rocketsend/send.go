package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
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
	timeout    time.Duration
	json       bool
}

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
  rocketsend send -c rocketsend.hcl --file messages.jsonl --json     # {"topic":"Orders","body":"...","keys":"k"} per line`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSend(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), &f)
		},
	}
	f.register(c)
	fl := c.Flags()
	fl.StringVarP(&f.topic, "topic", "t", "", "topic (default for file lines without one)")
	fl.StringVar(&f.body, "body", "", "message body")
	fl.StringVar(&f.file, "file", "", `JSON-lines file of messages ("-" for standard input): topic, body or body_base64, tags, keys, properties, delay_level, order_key`)
	fl.IntVar(&f.count, "count", 1, "send the flag-built message this many times")
	fl.StringVar(&f.mode, "mode", "sync", "sync, async, oneway or batch")
	fl.StringVar(&f.keys, "keys", "", "message keys (space-separated)")
	fl.StringVar(&f.tags, "tags", "", "message tags")
	fl.StringArrayVar(&f.props, "prop", nil, "user property name=value (repeatable)")
	fl.StringVar(&f.orderKey, "order-key", "", "send in order by this key (Java's hash selector)")
	fl.IntVar(&f.delayLevel, "delay-level", 0, "delay level 1-18 (broker's messageDelayLevel)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "time for the whole command")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per message")
	return c
}

type outMsg struct {
	msg      *message.Message
	orderKey string
}

func (f *sendFlags) messages(in io.Reader) ([]outMsg, error) {
	if f.file == "" {
		if f.topic == "" {
			return nil, errors.New("send: --topic is required (or --file)")
		}
		if f.count < 1 {
			return nil, fmt.Errorf("send: --count %d must be at least 1", f.count)
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
			if err := m.SetProperty(k, v); err != nil {
				return nil, fmt.Errorf("%s:%d: properties: %w", f.file, line, err)
			}
		}
		if lm.DelayLevel > 0 {
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
			return fmt.Errorf("send: --prop %q: want name=value", p)
		}
		if err := m.SetProperty(k, v); err != nil {
			return fmt.Errorf("send: --prop %q: %w", p, err)
		}
	}
	if f.delayLevel > 0 {
		m.SetDelayLevel(f.delayLevel)
	}
	return nil
}

func runSend(ctx context.Context, out io.Writer, in io.Reader, f *sendFlags) error {
	switch f.mode {
	case "sync", "async", "oneway", "batch":
	default:
		return fmt.Errorf("send: --mode %q: want sync, async, oneway or batch", f.mode)
	}
	msgs, err := f.messages(in)
	if err != nil {
		return err
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
		return nil
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
		br, err := p.SendBatch(ctx, batch)
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
