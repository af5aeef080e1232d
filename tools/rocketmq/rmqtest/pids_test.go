package rmqtest

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestBrokerPID finds each broker's JVM both ways (pid file, listening port) and checks they agree.
func TestBrokerPID(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc")
	}
	c := Start(t)
	for _, name := range []string{BrokerA, BrokerB} {
		pid, err := c.BrokerPID(name)
		if err != nil {
			t.Fatal(err)
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), "BrokerStartup") {
			t.Errorf("%s: pid %d is not a broker: %v %q", name, pid, err, cmdline)
		}
		_, port, _ := net.SplitHostPort(c.BrokerAddr(name))
		p, _ := strconv.Atoi(port)
		if byPort, err := listenerPID(p); err != nil || byPort != pid {
			t.Errorf("%s: by port %d: pid %d (%v), by pid file %d", name, p, byPort, err, pid)
		}
	}
	if _, err := c.BrokerPID("broker-z"); err == nil {
		t.Error("broker-z: no error")
	}
}
