package hookgrpc

import (
	"context"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the go-plugin protocol version of ABI v1, the counterpart of the wasm marker
// producer_hook_abi_v1. Host and plugin negotiate it through go-plugin's versioned plugin sets; a
// plugin speaking only another version is refused with an error naming both.
const ProtocolVersion = 1

// PluginName is the name the Hook service is dispensed under in the go-plugin plugin set.
const PluginName = "hook"

// Handshake is the go-plugin handshake shared by the host and every plugin. The magic cookie only
// tells a plugin binary it was started by a rocketsend host (run by hand, it explains itself and
// exits); it is not a security measure (see host.WithChecksum and AutoMTLS for those).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ROCKETSEND_PLUGIN_COOKIE",
	MagicCookieValue: "c2a5e0d4-producer-hook-v1",
}

// MaxMessageSize bounds a gRPC message in either direction. A 4 MiB body (RocketMQ's default
// maximum message size) plus its view and batch framing must fit; grpc's default receive limit is
// exactly 4 MiB and would refuse it. The host also closes a batch before it grows past
// MaxBatchBytes, so only a single oversized call can come near this limit.
const MaxMessageSize = 64 << 20

// MaxBatchBytes is the size past which the host starts a new batch.
const MaxBatchBytes = 8 << 20

// LogLevelEnv is the environment variable in which the host tells a plugin the level of its logger,
// so that the plugin formats only what the host will keep.
const LogLevelEnv = "ROCKETSEND_PLUGIN_LOG_LEVEL"

// Plugin is the go-plugin plugin of the Hook service. On the plugin side Impl is the
// implementation; on the host side GRPCClient returns a HookClient.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl HookServer
}

// GRPCServer registers the Hook service on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterHookServer(s, p.Impl)
	return nil
}

// GRPCClient returns a HookClient on the host's connection to the plugin.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewHookClient(c), nil
}

// NewLogger returns the logger a plugin process should use: JSON lines on stderr, which the host's
// go-plugin client parses and re-emits on the plugin's named host logger, at the level the host
// announced in LogLevelEnv (Info when absent).
func NewLogger(name string) hclog.Logger {
	level := hclog.LevelFromString(strings.TrimSpace(os.Getenv(LogLevelEnv)))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name: name, Level: level, Output: os.Stderr, JSONFormat: true,
	})
}

// ServeConfig returns the go-plugin serve configuration of a plugin process serving impl at
// ProtocolVersion: gRPC only, message limits of MaxMessageSize, logs through logger.
func ServeConfig(impl HookServer, logger hclog.Logger) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {PluginName: &Plugin{Impl: impl}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts,
				grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))...)
		},
		Logger: logger,
	}
}

// Serve serves impl as a plugin process and returns when the host disconnects or kills it. Run
// without the host's handshake (by hand), it prints an explanation and exits with status 1.
func Serve(impl HookServer, logger hclog.Logger) {
	plugin.Serve(ServeConfig(impl, logger))
}
