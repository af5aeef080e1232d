package config_test

import (
	"fmt"

	"github.com/rocketsend/rocketsend/config"
)

// Every mistake of a file is reported at once, each at its file:line,column with what was
// expected.
func ExampleParse() {
	_, err := config.Parse([]byte(`
producer {
  send_timeout = "3"
  retries      = -1
}

plugin "policy" {
  kind = "wsam"
  path = "plugins/policy.wasm"
}
`), "rocketsend.hcl")
	fmt.Println(err)
	// Output:
	// rocketsend.hcl:3,18: Invalid duration; send_timeout must be a duration of at least 1ms, like "3s", "500ms" or "1m30s"; got "3"
	// rocketsend.hcl:4,18: Invalid value; retries must be a whole number from 0 to 100, got -1
	// rocketsend.hcl:8,10: Invalid plugin kind; kind must be "wasm" or "process"; got "wsam"
}

func ExampleLoad() {
	f, err := config.Load("../examples/config/rocketsend.hcl")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("group:", f.Producer.Group)
	for _, p := range f.Plugins {
		fmt.Println(p.Order, p.Name, p.Kind)
	}
	// Output:
	// group: orders_service
	// 10 policy wasm
	// 20 redact wasm
	// 30 tracing wasm
	// 40 keyhash wasm
	// 50 zoneaffinity wasm
}
