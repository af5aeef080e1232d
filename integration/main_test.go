package integration

import (
	"testing"

	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestMain stops any cluster these tests started for themselves (none when the test command
// started a shared one and exported RMQ_NAMESRV).
func TestMain(m *testing.M) { rmqtest.Main(m) }
