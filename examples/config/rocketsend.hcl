# rocketsend.hcl: a producer and the plugins of its send pipeline.
# Reference: docs/config.md. Relative paths are relative to this file.
# `rocketsend demo` runs this file against a local RocketMQ, with the example plugins built into
# plugins/ (go build, never committed).

producer {
  # env(NAME, DEFAULT) reads the service's environment; env(NAME) alone fails when it is unset.
  name_servers = [env("NAMESRV_ADDR", "127.0.0.1:9876")]
  group        = "orders_service"
  send_timeout = "10s"
  retries      = 2

  compression {
    threshold = "4KiB"
    type      = "zlib"
    level     = 5
  }

  backpressure {
    max_messages = 10000
    max_bytes    = "100MiB"
    block        = true
  }
}

# Hooks run in `order` (lower first): forbidden checks of every plugin, then before hooks, then the
# queue selectors (the first plugin that chooses wins), then after each attempt the after hooks.

plugin "policy" {
  kind     = "wasm"
  path     = "plugins/policy.wasm"
  order    = 10
  settings = { deny_tags = "secret,internal" }
  # forbidden checks fail closed by default: a broken policy stops sends rather than letting
  # everything through.
}

plugin "redact" {
  kind     = "wasm"
  path     = "plugins/redact.wasm"
  order    = 20
  timeout  = "100ms" # a runaway call is stopped, and the send fails (before hooks fail closed)
  settings = { min_digits = "12" }
}

plugin "tracing" {
  kind           = "wasm"
  path           = "plugins/tracing.wasm"
  order          = 30
  failure_policy = "open" # tracing must never stop a send
  memory_limit   = "32MiB"
  pool_size      = 4
  settings       = { name = "orders" }
}

plugin "keyhash" {
  kind     = "wasm"
  path     = "plugins/keyhash.wasm"
  order    = 40
  hooks    = ["select"]
  settings = { source = "keys" } # messages with KEYS go to Java's hash queue of their first key
}

plugin "zoneaffinity" {
  kind     = "wasm"
  path     = "plugins/zoneaffinity.wasm"
  order    = 50
  settings = { brokers = "broker-b" } # messages without keys stay in "our zone"
}
