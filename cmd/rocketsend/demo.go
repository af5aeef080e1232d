package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// demoHook is a native Go send hook: it stamps every attempt before it is sent and records how
// the attempt went. Plugins loaded at run time will implement the same interfaces.
type demoHook struct {
	mu       sync.Mutex
	attempts map[string]string // msgId -> "broker:queue in 2ms"
}

func (h *demoHook) Name() string { return "demo-stamp" }

func (h *demoHook) SendMessageBefore(sc *send.SendContext) error {
	sc.Message.SetProperty("stamped-by", "demo-hook attempt "+fmt.Sprint(sc.Attempt))
	return nil
}

func (h *demoHook) SendMessageAfter(sc *send.SendContext) {
	h.mu.Lock()
	defer h.mu.Unlock()
	outcome := fmt.Sprintf("%s:%d in %v", sc.Queue.BrokerName, sc.Queue.QueueID, sc.Latency.Round(time.Millisecond))
	if sc.Err != nil {
		outcome = "failed: " + sc.Err.Error()
	}
	h.attempts[attemptKey(sc.Message.UniqID())] = outcome
}

// attemptKey files a batch request's attempt under "batch": hooks see the batch wrapper, which
// carries no id of its own (each message inside has one).
func attemptKey(id string) string {
	if id == "" {
		return "batch"
	}
	return id
}

func demo(out io.Writer, ns, topic string) (err error) {
	if err := codec.ValidateTopic(topic); err != nil {
		return err
	}
	if ns == "" {
		script, err := rmqScript()
		if err != nil {
			return err
		}
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
	hook := &demoHook{attempts: map[string]string{}}
	checker := send.TransactionCheckerFunc(func(context.Context, *message.MessageExt) send.LocalTransactionState {
		return send.CommitMessage
	})
	p, err := send.New(send.WithNameServers(ns), send.WithGroup("rocketsend_demo"), send.WithHooks(hook),
		send.WithTransactionChecker(checker), send.WithSendTimeout(10*time.Second))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		return err
	}
	defer p.Shutdown(context.Background())
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}

	type sent struct {
		mode string
		msg  *message.Message
		res  *message.SendResult
	}
	var rows []sent
	newMsg := func(mode string) *message.Message {
		m := message.New(topic, []byte("hello from rocketsend, "+mode))
		m.SetTags(strings.Fields(mode)[0])
		m.SetKeys("demo-" + strings.ReplaceAll(mode, " ", "-"))
		return m
	}
	sync1 := newMsg("sync")
	res, err := p.Send(ctx, sync1)
	if err != nil {
		return fmt.Errorf("sync send: %w", err)
	}
	rows = append(rows, sent{"sync", sync1, res})

	async := newMsg("async")
	done := make(chan error, 1)
	if err := p.SendAsync(ctx, async, func(r *message.SendResult, err error) {
		if err == nil {
			rows = append(rows, sent{"async", async, r})
		}
		done <- err
	}); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("async send: %w", err)
	}

	if err := p.SendOneway(ctx, newMsg("oneway")); err != nil {
		return fmt.Errorf("oneway send: %w", err)
	}

	for i := 0; i < 2; i++ {
		m := newMsg(fmt.Sprintf("ordered %d", i))
		r, err := p.Send(ctx, m, send.OrderedBy("customer-7"))
		if err != nil {
			return fmt.Errorf("ordered send: %w", err)
		}
		rows = append(rows, sent{fmt.Sprintf("ordered #%d (key customer-7)", i), m, r})
	}

	batch := []*message.Message{newMsg("batch 0"), newMsg("batch 1")}
	br, err := p.SendBatch(ctx, batch)
	if err != nil {
		return fmt.Errorf("batch send: %w", err)
	}
	for i, m := range batch {
		rows = append(rows, sent{fmt.Sprintf("batch #%d", i), m, &br.Messages[i]})
	}

	tx := newMsg("transaction")
	tr, err := p.SendInTransaction(ctx, tx, func(context.Context, *message.Message, *message.SendResult) (send.LocalTransactionState, error) {
		return send.CommitMessage, nil
	})
	if err != nil {
		return fmt.Errorf("transactional send: %w", err)
	}
	rows = append(rows, sent{"transaction (half message, then " + tr.State.String() + ")", tx, tr.SendResult})

	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tQUEUE\tOFFSET\tMSG ID\tHOOK SAW\tREAD BACK FROM THE BROKER")
	for _, r := range rows {
		back := "(not read back)"
		if got, err := p.ViewMessage(ctx, r.res.OffsetMsgID); err != nil {
			back = "read back failed: " + err.Error()
		} else {
			back = fmt.Sprintf("%q tags=%s stamped-by=%q", got.Body, got.Tags(), got.Property("stamped-by"))
		}
		hook.mu.Lock()
		saw := hook.attempts[r.msg.UniqID()]
		if strings.HasPrefix(r.mode, "batch") {
			saw = "request " + hook.attempts["batch"]
		}
		hook.mu.Unlock()
		fmt.Fprintf(tw, "%s\t%s:%d\t%d\t%s\t%s\t%s\n", r.mode, r.res.Queue.BrokerName, r.res.Queue.QueueID,
			r.res.QueueOffset, r.res.MsgID, saw, back)
	}
	fmt.Fprintln(tw, "oneway\t(no answer by design)\t\t\t\t")
	return tw.Flush()
}

// rmqScript finds tools/rocketmq/rmq.sh: next to this source file when run with `go run`, else
// under the working directory.
func rmqScript() (string, error) {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "tools", "rocketmq", "rmq.sh"))
	}
	candidates = append(candidates, filepath.Join("tools", "rocketmq", "rmq.sh"))
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return filepath.Clean(c), nil
		}
	}
	return "", errors.New("tools/rocketmq/rmq.sh not found: run from the rocketsend repository or pass -namesrv")
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
