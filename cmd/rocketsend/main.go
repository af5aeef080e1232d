// Command rocketsend is rocketsend's command line. For now it has one subcommand, demo, which
// starts a local Apache RocketMQ (unless given a NameServer), sends a message to every broker with
// rocketsend's wire codec and transport, reads each back from the broker and shows it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/remote"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "demo" {
		fmt.Fprintln(os.Stderr, "usage: rocketsend demo [-namesrv host:port] [-topic T]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	ns := fs.String("namesrv", "", "NameServer address; empty starts a local RocketMQ with tools/rocketmq/rmq.sh")
	topic := fs.String("topic", "RocketsendDemo", "topic to send to (auto-created by the broker)")
	_ = fs.Parse(os.Args[2:])
	if err := demo(os.Stdout, *ns, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "rocketsend demo:", err)
		os.Exit(1)
	}
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
	c := remote.NewClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := c.Invoke(ctx, ns, codec.NewRequest(codec.GetBrokerClusterInfo, nil, nil), 0)
	if err != nil {
		return fmt.Errorf("asking NameServer %s for brokers: %w", ns, err)
	}
	info, err := codec.DecodeClusterInfo(resp.Body)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(info.BrokerAddrTable))
	for n := range info.BrokerAddrTable {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return errors.New("the NameServer knows no broker")
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tADDRESS\tQUEUE\tOFFSET\tMSG ID (UNIQ_KEY)\tTAGS\tKEYS\tBODY READ BACK")
	for _, name := range names {
		addr := info.BrokerAddrTable[name].MasterAddr()
		m := message.New(topic, []byte("hello from rocketsend to "+name))
		m.SetTags("demo")
		m.SetKeys("demo-" + name)
		m.SetProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
		m.SetProperty(message.PropertyWaitStoreMsgOK, "true")
		h := &codec.SendMessageRequestHeader{ProducerGroup: "rocketsend_demo", Topic: topic,
			DefaultTopic: "TBW102", DefaultTopicQueueNums: 4, QueueID: 0, BornTimestamp: time.Now().UnixMilli(),
			Properties: string(codec.AppendProperties(nil, m.Properties)), BrokerName: name}
		resp, err := c.Invoke(ctx, addr, codec.NewRequest(codec.SendMessageV2, (*codec.SendMessageRequestHeaderV2)(h), m.Body), 0)
		if err != nil {
			return fmt.Errorf("send to %s: %w", name, err)
		}
		if resp.Code != codec.Success {
			return fmt.Errorf("send to %s: broker answered %s (%d): %s", name, codec.ResponseCodeName(resp.Code), resp.Code, resp.Remark)
		}
		rh, err := codec.DecodeSendMessageResponseHeader(resp)
		if err != nil {
			return err
		}
		_, off, err := codec.DecodeOffsetMsgID(rh.MsgID)
		if err != nil {
			return err
		}
		view, err := c.Invoke(ctx, addr, codec.NewRequest(codec.ViewMessageByID, &codec.ViewMessageRequestHeader{Offset: off}, nil), 0)
		if err != nil || view.Code != codec.Success {
			return fmt.Errorf("read back from %s: %v %v", name, err, view)
		}
		got, _, err := codec.DecodeMessageExt(view.Body, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%q\n", name, addr, rh.QueueID, rh.QueueOffset, got.MsgID,
			got.Tags(), strings.Join(got.Keys(), " "), got.Body)
	}
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
