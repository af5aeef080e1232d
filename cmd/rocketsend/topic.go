package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// topicFlags are the flags of the read-only topic subcommands.
type topicFlags struct {
	producerFlags
	timeout time.Duration
	json    bool
	// message
	id, key, topic string
	max            int
	since          time.Duration
}

func newTopicCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "topic",
		Short: "Read-only views of a topic: its route, its queues' offsets, a stored message",
		Long: `The questions a surprising send raises, answered from the cluster without changing it, as
mqadmin topicRoute, topicStatus and queryMsgById / queryMsgByKey do.`,
	}
	var f topicFlags
	route := &cobra.Command{
		Use:   "route TOPIC",
		Short: "The topic's brokers (addresses), queue counts and permissions, as the NameServer says",
		Example: `  rocketsend topic route -n 127.0.0.1:9876 Orders
  rocketsend topic route -n 127.0.0.1:9876 Orders --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runTopicRoute(cmd.Context(), cmd.OutOrStdout(), a[0], &f)
		},
	}
	offsets := &cobra.Command{
		Use:     "offsets TOPIC",
		Short:   "Min and max offset of every queue of the topic (max - min messages are stored)",
		Example: `  rocketsend topic offsets -n 127.0.0.1:9876 Orders`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runTopicOffsets(cmd.Context(), cmd.OutOrStdout(), a[0], &f)
		},
	}
	msg := &cobra.Command{
		Use:   "message",
		Short: "Show a stored message by id (msgId or offsetMsgId, as send prints them) or by key",
		Example: `  rocketsend topic message -n 127.0.0.1:9876 --id 0A0000017F0000...          # an offsetMsgId: read from its broker
  rocketsend topic message -n 127.0.0.1:9876 -t Orders --id 7F000001000A...   # a msgId (UNIQ_KEY): looked up in the topic's index
  rocketsend topic message -n 127.0.0.1:9876 -t Orders --key order-42`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTopicMessage(cmd.Context(), cmd.OutOrStdout(), &f)
		},
	}
	msg.Flags().StringVar(&f.id, "id", "", "message id: an offsetMsgId alone, or either id with --topic")
	msg.Flags().StringVar(&f.key, "key", "", "a message key (KEYS), with --topic")
	msg.Flags().StringVarP(&f.topic, "topic", "t", "", "the message's topic (needed by --key and by a msgId)")
	msg.Flags().IntVar(&f.max, "max", 32, "most messages a key search returns per broker")
	msg.Flags().DurationVar(&f.since, "since", 72*time.Hour, "how far back a key search looks")
	for _, sc := range []*cobra.Command{route, offsets, msg} {
		f.register(sc)
		sc.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "time for the whole command")
		sc.Flags().BoolVar(&f.json, "json", false, "print JSON")
		c.AddCommand(sc)
	}
	return c
}

// run starts a producer from the flags, runs do with it inside --timeout, and closes it.
func (f *topicFlags) run(ctx context.Context, do func(context.Context, *rocketsend.Producer) error) error {
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
	return do(ctx, p)
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// routeBroker is one broker of a topic's route (topic route --json).
type routeBroker struct {
	Broker      string           `json:"broker"`
	Cluster     string           `json:"cluster"`
	Addrs       map[int64]string `json:"addrs"`
	ReadQueues  int32            `json:"readQueues"`
	WriteQueues int32            `json:"writeQueues"`
	Perm        string           `json:"perm"`
}

func permString(p int32) string {
	s := []byte("---")
	if p&codec.PermRead != 0 {
		s[0] = 'r'
	}
	if p&codec.PermWrite != 0 {
		s[1] = 'w'
	}
	if p&codec.PermInherit != 0 {
		s[2] = 'x'
	}
	return string(s)
}

func runTopicRoute(ctx context.Context, out io.Writer, topic string, f *topicFlags) error {
	return f.run(ctx, func(ctx context.Context, p *rocketsend.Producer) error { return printRoute(ctx, out, topic, f.json, p) })
}

func printRoute(ctx context.Context, out io.Writer, topic string, asJSON bool, p *rocketsend.Producer) error {
	rd, err := p.TopicRoute(ctx, topic)
	if err != nil {
		return fmt.Errorf("topic route %s: %w", topic, err)
	}
	var rows []routeBroker
	for _, b := range rd.BrokerDatas {
		r := routeBroker{Broker: b.BrokerName, Cluster: b.Cluster, Addrs: b.BrokerAddrs}
		for _, q := range rd.QueueDatas {
			if q.BrokerName == b.BrokerName {
				r.ReadQueues, r.WriteQueues, r.Perm = q.ReadQueueNums, q.WriteQueueNums, permString(q.Perm)
			}
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b routeBroker) int { return strings.Compare(a.Broker, b.Broker) })
	if asJSON {
		return writeJSON(out, map[string]any{"topic": topic, "orderTopicConf": rd.OrderTopicConf, "brokers": rows})
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "broker\tcluster\tread queues\twrite queues\tperm\taddresses (id 0 = master)")
	for _, r := range rows {
		var addrs []string
		for _, id := range slices.Sorted(maps.Keys(r.Addrs)) {
			addrs = append(addrs, fmt.Sprintf("%d=%s", id, r.Addrs[id]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.Broker, r.Cluster, r.ReadQueues, r.WriteQueues, r.Perm, strings.Join(addrs, " "))
	}
	if rd.OrderTopicConf != "" {
		fmt.Fprintf(tw, "order topic conf\t%s\n", rd.OrderTopicConf)
	}
	return tw.Flush()
}

// queueOffsets is one queue's offsets (topic offsets --json).
type queueOffsets struct {
	Broker string `json:"broker"`
	Queue  int    `json:"queue"`
	Min    int64  `json:"min"`
	Max    int64  `json:"max"`
	Error  string `json:"error,omitempty"`
}

// topicQueues lists the topic's read queues, broker by broker.
func topicQueues(rd *codec.TopicRouteData, topic string) []message.MessageQueue {
	var qs []message.MessageQueue
	for _, q := range rd.QueueDatas {
		for i := 0; i < int(q.ReadQueueNums); i++ {
			qs = append(qs, message.MessageQueue{Topic: topic, BrokerName: q.BrokerName, QueueID: i})
		}
	}
	slices.SortFunc(qs, func(a, b message.MessageQueue) int {
		if c := strings.Compare(a.BrokerName, b.BrokerName); c != 0 {
			return c
		}
		return a.QueueID - b.QueueID
	})
	return qs
}

func runTopicOffsets(ctx context.Context, out io.Writer, topic string, f *topicFlags) error {
	return f.run(ctx, func(ctx context.Context, p *rocketsend.Producer) error {
		return printOffsets(ctx, out, topic, f.json, p)
	})
}

func printOffsets(ctx context.Context, out io.Writer, topic string, asJSON bool, p *rocketsend.Producer) error {
	rd, err := p.TopicRoute(ctx, topic)
	if err != nil {
		return fmt.Errorf("topic offsets %s: %w", topic, err)
	}
	var rows []queueOffsets
	var errs []error
	for _, q := range topicQueues(rd, topic) {
		r := queueOffsets{Broker: q.BrokerName, Queue: q.QueueID}
		var err1, err2 error
		r.Min, err1 = p.MinOffset(ctx, q)
		r.Max, err2 = p.MaxOffset(ctx, q)
		if err := errors.Join(err1, err2); err != nil {
			r.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s:%d: %w", q.BrokerName, q.QueueID, err))
		}
		rows = append(rows, r)
	}
	if asJSON {
		if err := writeJSON(out, map[string]any{"topic": topic, "queues": rows}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "broker\tqueue\tmin\tmax\tstored\t")
		var total int64
		for _, r := range rows {
			if r.Error != "" {
				fmt.Fprintf(tw, "%s\t%d\t\t\t\terror: %s\n", r.Broker, r.Queue, r.Error)
				continue
			}
			total += r.Max - r.Min
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", r.Broker, r.Queue, r.Min, r.Max, r.Max-r.Min)
		}
		fmt.Fprintf(tw, "total\t\t\t\t%d\t\n", total)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("topic offsets %s: %w", topic, errors.Join(errs...))
	}
	return nil
}

// shownMessage is a stored message as topic message prints it.
type shownMessage struct {
	Topic       string            `json:"topic"`
	MsgID       string            `json:"msgId"`
	OffsetMsgID string            `json:"offsetMsgId"`
	Broker      string            `json:"storeHost"`
	QueueID     int32             `json:"queueId"`
	QueueOffset int64             `json:"queueOffset"`
	BornHost    string            `json:"bornHost"`
	Born        time.Time         `json:"born"`
	Stored      time.Time         `json:"stored"`
	Properties  map[string]string `json:"properties"`
	Body        string            `json:"body,omitempty"`
	BodyBase64  []byte            `json:"bodyBase64,omitempty"`
}

func runTopicMessage(ctx context.Context, out io.Writer, f *topicFlags) error {
	switch {
	case f.id == "" && f.key == "":
		return usagef("topic message: give --id or --key")
	case f.id != "" && f.key != "":
		return usagef("topic message: give --id or --key, not both")
	case f.key != "" && f.topic == "":
		return usagef("topic message: --key needs --topic")
	case f.max < 1:
		return usagef("topic message: --max %d must be at least 1", f.max)
	}
	if f.id != "" && f.topic == "" {
		if _, _, err := codec.DecodeOffsetMsgID(f.id); err != nil {
			return usagef("topic message: %q is not an offsetMsgId (%v); a msgId is looked up in a topic: add --topic", f.id, err)
		}
	}
	return f.run(ctx, func(ctx context.Context, p *rocketsend.Producer) error { return printMessages(ctx, out, f, p) })
}

func printMessages(ctx context.Context, out io.Writer, f *topicFlags, p *rocketsend.Producer) error {
	var found []*message.MessageExt
	switch {
	case f.id != "" && f.topic == "":
		m, err := p.ViewMessage(ctx, f.id)
		if err != nil {
			return fmt.Errorf("topic message --id %s: %w", f.id, err)
		}
		found = append(found, m)
	case f.id != "":
		m, err := p.ViewMessageByID(ctx, f.topic, f.id)
		if err != nil {
			return fmt.Errorf("topic message --id %s in %s: %w", f.id, f.topic, err)
		}
		found = append(found, m)
	default:
		now := time.Now()
		ms, err := p.QueryMessage(ctx, f.topic, f.key, f.max, now.Add(-f.since), now.Add(time.Minute))
		if err != nil {
			return fmt.Errorf("topic message --key %s in %s: %w", f.key, f.topic, err)
		}
		found = ms
	}
	if len(found) == 0 {
		return errors.New("topic message: no such message (the broker indexes a moment after storing: try again shortly)")
	}
	var shown []shownMessage
	for _, m := range found {
		s := shownMessage{Topic: m.Topic, MsgID: m.MsgID, OffsetMsgID: m.OffsetMsgID, Broker: m.StoreHost.String(),
			QueueID: m.QueueID, QueueOffset: m.QueueOffset, BornHost: m.BornHost.String(),
			Born: time.UnixMilli(m.BornTimestamp), Stored: time.UnixMilli(m.StoreTimestamp), Properties: m.Properties}
		if utf8.Valid(m.Body) {
			s.Body = string(m.Body)
		} else {
			s.BodyBase64 = m.Body
		}
		shown = append(shown, s)
	}
	if f.json {
		return writeJSON(out, shown)
	}
	for i, s := range shown {
		if i > 0 {
			fmt.Fprintln(out)
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "topic\t%s\n", s.Topic)
		fmt.Fprintf(tw, "msgId\t%s\n", s.MsgID)
		fmt.Fprintf(tw, "offsetMsgId\t%s\n", s.OffsetMsgID)
		fmt.Fprintf(tw, "stored\t%s queue %d offset %d at %s\n", s.Broker, s.QueueID, s.QueueOffset, s.Stored.Format(time.RFC3339Nano))
		fmt.Fprintf(tw, "born\t%s at %s\n", s.BornHost, s.Born.Format(time.RFC3339Nano))
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			fmt.Fprintf(tw, "property\t%s=%q\n", k, s.Properties[k])
		}
		if s.BodyBase64 != nil {
			fmt.Fprintf(tw, "body\t%d bytes, not UTF-8 (--json shows them in base64)\n", len(s.BodyBase64))
		} else {
			fmt.Fprintf(tw, "body\t%q\n", s.Body)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
