package rmqtest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// BrokerPID returns the process id of a broker's JVM (BrokerA or BrokerB), for measurements
// such as the broker CPU a client costs (cmd/rocketsend TestVersusJava). It reads the pid file
// rmq.sh wrote, checked against the JVM's command line as rmq.sh does so a recycled pid is never
// taken; for a cluster without one (RMQ_NAMESRV, started elsewhere) it finds the process that
// listens on the broker's port through /proc. Linux only: elsewhere it returns an error.
func (c *Cluster) BrokerPID(name string) (int, error) {
	if c.dir != "" {
		if b, err := os.ReadFile(filepath.Join(c.dir, "pids", name+".pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if err == nil && bytes.Contains(cmdline, []byte("\x00-Duser.home="+filepath.Join(c.dir, name)+"\x00")) {
					return pid, nil
				}
			}
		}
	}
	addr := c.brokers[name]
	if addr == "" {
		return 0, fmt.Errorf("rmqtest: no broker %q", name)
	}
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0, err
	}
	return listenerPID(port)
}

// listenerPID finds the process holding the TCP socket that listens on port: the socket's inode
// from /proc/net/tcp{,6}, then the process with that inode among its open files.
func listenerPID(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			if p, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("rmqtest: nothing listens on port %d (or /proc is not there)", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, _ := filepath.Glob(dir + "/fd/*")
		for _, fd := range fds {
			if link, err := os.Readlink(fd); err == nil && inodes[link] {
				return strconv.Atoi(filepath.Base(dir))
			}
		}
	}
	return 0, fmt.Errorf("rmqtest: no process of this user holds the socket listening on port %d", port)
}
