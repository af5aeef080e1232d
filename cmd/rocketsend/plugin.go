package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func newPluginCmd() *cobra.Command {
	c := &cobra.Command{Use: "plugin", Short: "Check a plugin, or start a new one"}
	c.AddCommand(newPluginCheckCmd(), newPluginNewCmd())
	return c
}

type checkFlags struct {
	kind     string
	settings []string
	config   string
	topic    string
	tags     string
	keys     string
	body     string
	timeout  time.Duration
	logLevel string
	topics   []string
}

func newPluginCheckCmd() *cobra.Command {
	var f checkFlags
	c := &cobra.Command{
		Use:   "check FILE",
		Short: "Load a plugin, print what it declares and run each of its hooks on a sample message",
		Example: `  rocketsend plugin check policy.wasm --setting deny_tags=secret --tags secret
  rocketsend plugin check redact.wasm --body "card 4111111111111111"`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.kind, "kind", "wasm", `plugin kind: "wasm" or "process"`)
	fl.StringArrayVar(&f.settings, "setting", nil, "a setting passed to the plugin's init, key=value (repeatable)")
	fl.StringVar(&f.config, "config-text", "", "the opaque configuration text passed to the plugin's init")
	fl.StringVar(&f.topic, "topic", "SampleTopic", "topic of the sample message")
	fl.StringSliceVar(&f.topics, "topics", nil, "the configuration's topic filter (topics = [...]): call the plugin only for these topics")
	fl.StringVar(&f.tags, "tags", "sample", "tags of the sample message")
	fl.StringVar(&f.keys, "keys", "order-42", "keys of the sample message")
	fl.StringVar(&f.body, "body", `{"id":42,"note":"sample message"}`, "body of the sample message")
	fl.DurationVar(&f.timeout, "timeout", time.Second, "per-call deadline for the plugin")
	fl.StringVar(&f.logLevel, "log-level", "info", "level of the plugin's own log lines and the host's, written to standard error: trace, debug, info, warn, error, off")
	return c
}

func runCheck(ctx context.Context, out, errOut io.Writer, path string, f *checkFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	kind := host.Kind(f.kind)
	if kind != host.KindWasm && kind != host.KindProcess {
		return usagef(`plugin check: --kind %q: want "wasm" or "process"`, f.kind)
	}
	var kvs []hookv1.KV
	settings := map[string]string{}
	for _, s := range f.settings {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return usagef("plugin check: --setting %q: want key=value", s)
		}
		settings[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		kvs = append(kvs, hookv1.KV{Key: k, Value: settings[k]})
	}
	if hclog.LevelFromString(f.logLevel) == hclog.NoLevel {
		return usagef("plugin check: --log-level %q: want trace, debug, info, warn, error or off", f.logLevel)
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.LevelFromString(f.logLevel), Output: errOut})
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	plugin, err := host.Load(lctx, kind, abs, host.WithLogger(log.Named(strings.TrimSuffix(filepath.Base(path), ".wasm"))),
		host.WithHookConfig([]byte(f.config), kvs...), host.WithCallTimeout(f.timeout), host.WithTopics(f.topics...))
	if err != nil {
		return err
	}
	defer plugin.Close(context.Background())
	info := plugin.Info()
	fmt.Fprintf(out, "plugin %s %s (%s, %s)\n", info.Name, info.Version, kind, path)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  hooks\t%s\n", pointList(info.Points))
	fmt.Fprintf(tw, "  needs\t%s\n", needList(info.Needs))
	topics := "every topic"
	if len(info.Topics) > 0 {
		topics = strings.Join(info.Topics, ", ")
	}
	fmt.Fprintf(tw, "  topics\t%s\n", topics)
	fmt.Fprintf(tw, "  failure policy hint\t%s\n", policyHint(info.FailurePolicy))
	if info.TimeoutUs > 0 {
		fmt.Fprintf(tw, "  timeout hint\t%v\n", time.Duration(info.TimeoutUs)*time.Microsecond)
	}
	_ = tw.Flush()

	sample := func() *message.Message {
		m := message.New(f.topic, []byte(f.body))
		if f.tags != "" {
			m.SetTags(f.tags)
		}
		if f.keys != "" {
			m.SetKeys(strings.Fields(f.keys)...)
		}
		m.SetProperty("region", "eu-west-1")
		return m
	}
	fmt.Fprintf(out, "\nsample message: topic %s, tags %q, keys %q, body %q, property region=eu-west-1\n", f.topic, f.tags, f.keys, f.body)
	h := plugin.Hooks()
	newSC := func(m *message.Message) *send.SendContext {
		return &send.SendContext{Context: ctx, Group: "rocketsend_check", Message: m, Mode: send.ModeSync, Attempt: 1,
			Queue: message.MessageQueue{Topic: f.topic, BrokerName: "broker-a", QueueID: 0}, BrokerAddr: "127.0.0.1:10911", BornHost: "127.0.0.1"}
	}
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	// A plugin that declares topics is never called for others: say so instead of reporting a
	// call that did not happen.
	var filter []string
	skipped := false
	for _, fl := range [][]string{info.Topics, f.topics} {
		if len(fl) > 0 && !slices.Contains(fl, f.topic) {
			filter, skipped = fl, true
		}
	}
	for _, pt := range info.Points {
		if skipped {
			fmt.Fprintf(tw, "  %s\tSKIPPED: the plugin applies to %s only, not %s (try --topic %s)\n",
				config.HookName(pt), strings.Join(filter, ", "), f.topic, filter[0])
			continue
		}
		var what string
		switch pt {
		case hookv1.PointCheckForbidden:
			err := h.(send.CheckForbiddenHook).CheckForbidden(newSC(sample()))
			what = "allowed"
			if err != nil {
				what = "FORBIDDEN: " + err.Error()
			}
		case hookv1.PointBeforeSend:
			m := sample()
			orig := m.Clone()
			if err := h.(send.SendMessageBeforeHook).SendMessageBefore(newSC(m)); err != nil {
				what = "refused: " + err.Error()
			} else {
				what = diffMessage(orig, m)
			}
		case hookv1.PointAfterSend:
			sc := newSC(sample())
			sc.Latency = 2 * time.Millisecond
			sc.Result = &message.SendResult{Status: message.SendOK, MsgID: sc.Message.UniqID(), Queue: sc.Queue, QueueOffset: 7}
			h.(send.SendMessageAfterHook).SendMessageAfter(sc)
			what = "observed a SEND_OK result (broker-a:0, offset 7, 2ms)"
		case hookv1.PointSelectQueue:
			var queues []message.MessageQueue
			for _, b := range []string{"broker-a", "broker-b"} {
				for i := 0; i < 4; i++ {
					queues = append(queues, message.MessageQueue{Topic: f.topic, BrokerName: b, QueueID: i})
				}
			}
			fellBack := false
			fallback := send.QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
				fellBack = true
				return qs[0], nil
			})
			q, err := plugin.Selector(fallback).Select(sample(), queues, nil)
			switch {
			case err != nil:
				what = "failed: " + err.Error()
			case fellBack:
				what = "made no choice (the built-in selector decides)"
			default:
				what = fmt.Sprintf("chose %s:%d of 8 queues (broker-a:0-3, broker-b:0-3)", q.BrokerName, q.QueueID)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", config.HookName(pt), what)
	}
	_ = tw.Flush()
	st := plugin.Stats()
	fmt.Fprintf(out, "\n%d calls, %d failures, %d instance(s) created\n", st.Calls, st.Failures, st.Created)
	if skipped {
		fmt.Fprintf(out, "every hook was skipped by a topic filter: nothing was checked\n")
	}
	if st.Failures > 0 {
		return fmt.Errorf("plugin check: %s failed %d of %d calls (see above)", path, st.Failures, st.Calls)
	}
	return nil
}

func pointList(ps []hookv1.HookPoint) string {
	var s []string
	for _, p := range ps {
		s = append(s, config.HookName(p))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func needList(ns []hookv1.Need) string {
	names := map[hookv1.Need]string{hookv1.NeedProperties: "properties", hookv1.NeedQueues: "queues",
		hookv1.NeedBodyEager: "body (eager)", hookv1.NeedBodyLazy: "body (lazy)"}
	var s []string
	for _, n := range ns {
		s = append(s, names[n])
	}
	if len(s) == 0 {
		return "metadata only"
	}
	return strings.Join(s, ", ")
}

func policyHint(fp hookv1.FailurePolicy) string {
	switch fp {
	case hookv1.FailClosed:
		return "closed"
	case hookv1.FailOpen:
		return "open"
	}
	return "none (defaults: forbidden and before closed, after open, select falls back)"
}

// diffMessage describes what a before hook changed.
func diffMessage(a, b *message.Message) string {
	var ch []string
	for _, k := range slices.Sorted(maps.Keys(b.Properties)) {
		if av, ok := a.Properties[k]; !ok {
			ch = append(ch, fmt.Sprintf("set %s=%q", k, b.Properties[k]))
		} else if av != b.Properties[k] {
			ch = append(ch, fmt.Sprintf("changed %s %q -> %q", k, av, b.Properties[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a.Properties)) {
		if _, ok := b.Properties[k]; !ok {
			ch = append(ch, "deleted "+k)
		}
	}
	if !bytes.Equal(a.Body, b.Body) {
		ch = append(ch, fmt.Sprintf("body -> %q", b.Body))
	}
	if len(ch) == 0 {
		return "no change"
	}
	return strings.Join(ch, "; ")
}
