package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
)

func newDemoCmd() *cobra.Command {
	var ns, topic string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Start a local RocketMQ, load the example plugins, send in every mode through them, show what happened",
		Long: `demo starts a local Apache RocketMQ (tools/rocketmq/rmq.sh) unless --namesrv is given, builds the
example wasm plugins (examples/plugins), loads them with the example configuration
(examples/config/rocketsend.hcl), sends messages in every mode through them, reads each one back
from the broker, prints what each plugin did and where each message landed, and stops what it
started.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return demo(cmd.Context(), cmd.OutOrStdout(), ns, topic) },
	}
	c.Flags().StringVarP(&ns, "namesrv", "n", "", "NameServer address; empty starts a local RocketMQ with tools/rocketmq/rmq.sh")
	c.Flags().StringVarP(&topic, "topic", "t", "RocketsendDemo", "topic to send to (created on every broker)")
	return c
}

// demoHook is a native Go hook beside the plugins: it stamps every attempt, so the table shows a
// compiled-in hook and run-time plugins in one pipeline.
type demoHook struct{}

func (demoHook) Name() string { return "demo-stamp" }

func (demoHook) SendMessageBefore(sc *send.SendContext) error {
	sc.Message.SetProperty("stamped-by", fmt.Sprintf("demo-hook attempt %d", sc.Attempt))
	return nil
}

func demo(ctx context.Context, out io.Writer, ns, topic string) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return err
	}
	root, err := examplebuild.RepoRoot()
	if err != nil {
		return err
	}
	if ns == "" {
		script := filepath.Join(root, "tools", "rocketmq", "rmq.sh")
		fmt.Fprintln(out, "starting a local RocketMQ (NameServer + broker-a + broker-b) with", script)
		if ns, err = startCluster(script); err != nil {
			return err
		}
		defer func() {
			fmt.Fprintln(out, "stopping the local RocketMQ")
			if serr := runScript(script, "stop"); serr != nil && err == nil {
				err = serr
			}
		}()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	pluginDir := filepath.Join(cache, "rocketsend", "demo-plugins")
	fmt.Fprintln(out, "building the example plugins (GOOS=wasip1 GOARCH=wasm) into", pluginDir)
	if err := examplebuild.Build(ctx, pluginDir, examplebuild.Names...); err != nil {
		return err
	}
	confPath := filepath.Join(root, "examples", "config", "rocketsend.hcl")
	checker := send.TransactionCheckerFunc(func(context.Context, *message.MessageExt) send.LocalTransactionState {
		return send.CommitMessage
	})
	p, err := rocketsend.New(ctx, confPath,
		rocketsend.WithConfigOverride(func(f *config.File) {
			f.Producer.NameServers = []string{ns}
			for i := range f.Plugins {
				f.Plugins[i].Path = filepath.Join(pluginDir, filepath.Base(f.Plugins[i].Path))
			}
		}),
		rocketsend.WithHooks(demoHook{}),
		rocketsend.WithSendOptions(send.WithTransactionChecker(checker)))
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	fmt.Fprintf(out, "\nplugins loaded from %s, in the order they run:\n", confPath)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLUGIN\tVERSION\tHOOKS\tSETTINGS")
	for i, ps := range p.Plugins() {
		var set []string
		for _, kv := range p.Config().Plugins[i].Settings {
			set = append(set, kv.Key+"="+kv.Value)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ps.Name, ps.Version, strings.Join(ps.Hooks, "+"), strings.Join(set, " "))
	}
	_ = tw.Flush()
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}

	type row struct {
		mode, plugins, selected, landed, back string
	}
	var rows []row
	calls := func() map[string]uint64 {
		m := map[string]uint64{}
		for _, ps := range p.Plugins() {
			m[ps.Name] = ps.Stats.Calls
		}
		return m
	}
	// called lists the plugins that ran since before, and which one chose the queue.
	called := func(before map[string]uint64, callerSelector bool) (string, string) {
		var names []string
		after := calls()
		for _, ps := range p.Plugins() {
			if d := after[ps.Name] - before[ps.Name]; d == 1 {
				names = append(names, ps.Name)
			} else if d > 1 {
				names = append(names, fmt.Sprintf("%s(x%d)", ps.Name, d))
			}
		}
		sel := "round robin"
		switch {
		case callerSelector:
			sel = "the caller (OrderedBy)"
		case after["zoneaffinity"] > before["zoneaffinity"]:
			sel = "zoneaffinity (keyhash: no key)"
		case after["keyhash"] > before["keyhash"]:
			sel = "keyhash"
		}
		return strings.Join(names, " "), sel
	}
	readBack := func(r *message.SendResult) string {
		got, err := p.ViewMessage(ctx, r.OffsetMsgID)
		if err != nil {
			return "read back failed: " + err.Error()
		}
		s := fmt.Sprintf("%q trace_id=%s stamped-by=%q", clip(string(got.Body), 32), got.Property("trace_id"), got.Property("stamped-by"))
		if got.Property("redacted") == "true" {
			s += " redacted"
		}
		return s
	}
	landed := func(r *message.SendResult) string {
		return fmt.Sprintf("%s:%d @%d", r.Queue.BrokerName, r.Queue.QueueID, r.QueueOffset)
	}
	newMsg := func(mode, body string, keys bool) *message.Message {
		m := message.New(topic, []byte(body))
		m.SetTags(strings.Fields(mode)[0])
		if keys {
			m.SetKeys("demo-" + strings.ReplaceAll(mode, " ", "-"))
		}
		return m
	}
	syncSend := func(mode, body string, keys bool, opts ...send.CallOption) error {
		before := calls()
		m := newMsg(mode, body, keys)
		r, err := p.Send(ctx, m, opts...)
		if err != nil {
			return fmt.Errorf("%s send: %w", mode, err)
		}
		pl, sel := called(before, len(opts) > 0)
		rows = append(rows, row{mode, pl, sel, landed(r), readBack(r)})
		return nil
	}

	if err := syncSend("sync", "hello from rocketsend, sync", true); err != nil {
		return err
	}
	if err := syncSend("sync card", "card 4111111111111111 charged", true); err != nil {
		return err
	}
	if err := syncSend("sync no-keys", "a message without keys", false); err != nil {
		return err
	}

	before := calls()
	async := newMsg("async", "hello from rocketsend, async", true)
	var ares *message.SendResult
	done := make(chan error, 1)
	if err := p.SendAsync(ctx, async, func(r *message.SendResult, err error) { ares = r; done <- err }); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("async send: %w", err)
	}
	pl, sel := called(before, false)
	rows = append(rows, row{"async", pl, sel, landed(ares), readBack(ares)})

	before = calls()
	if err := p.SendOneway(ctx, newMsg("oneway", "hello from rocketsend, oneway", true)); err != nil {
		return fmt.Errorf("oneway send: %w", err)
	}
	pl, sel = called(before, false)
	rows = append(rows, row{"oneway", pl, sel, "(no answer by design)", ""})

	for i := 0; i < 2; i++ {
		if err := syncSend(fmt.Sprintf("ordered #%d (key customer-7)", i), fmt.Sprintf("ordered %d", i), true, send.OrderedBy("customer-7")); err != nil {
			return err
		}
	}

	before = calls()
	batch := []*message.Message{newMsg("batch 0", "hello from rocketsend, batch 0", true), newMsg("batch 1", "hello from rocketsend, batch 1", true)}
	br, err := p.SendBatch(ctx, batch)
	if err != nil {
		return fmt.Errorf("batch send: %w", err)
	}
	pl, sel = called(before, false)
	for i := range batch {
		r := &br.Messages[i]
		rows = append(rows, row{fmt.Sprintf("batch #%d (one request)", i), pl, sel, landed(r), readBack(r)})
	}

	before = calls()
	tx := newMsg("transaction", "hello from rocketsend, transaction", true)
	tr, err := p.SendInTransaction(ctx, tx, func(context.Context, *message.Message, *message.SendResult) (send.LocalTransactionState, error) {
		return send.CommitMessage, nil
	})
	if err != nil {
		return fmt.Errorf("transactional send: %w", err)
	}
	pl, sel = called(before, false)
	rows = append(rows, row{"transaction (half message, then " + tr.State.String() + ")", pl, sel, landed(tr.SendResult), readBack(tr.SendResult)})

	before = calls()
	secret := newMsg("secret", "must not leave", true)
	_, serr := p.Send(ctx, secret)
	var fe *send.ForbiddenError
	if !errors.As(serr, &fe) {
		return fmt.Errorf("the message tagged secret was not refused by the policy plugin: %v", serr)
	}
	pl, _ = called(before, false)
	rows = append(rows, row{"sync tagged secret", pl, "-", "REFUSED, nothing sent", fe.Err.Error()})

	fmt.Fprintln(out, "\nwhat each send went through and where it landed (read back from the broker):")
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tPLUGINS CALLED\tQUEUE CHOSEN BY\tLANDED (broker:queue @offset)\tREAD BACK FROM THE BROKER")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.mode, r.plugins, r.selected, r.landed, r.back)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nplugin counters:")
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLUGIN\tCALLS\tFAILURES\tINSTANCES")
	for _, ps := range p.Plugins() {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", ps.Name, ps.Stats.Calls, ps.Stats.Failures, ps.Stats.Live)
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func runScript(script string, args ...string) error {
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	return cmd.Run()
}

func startCluster(script string) (string, error) {
	cmd := exec.Command("bash", script, "start")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s start: %w", script, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "NAMESRV="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s start printed no NAMESRV= line", script)
}
