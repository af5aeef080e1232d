// Package hookgrpc is the process (hashicorp/go-plugin, gRPC) transport of rocketsend's plugin ABI
// v1: the Hook service generated from service.proto, the go-plugin handshake both sides share, and
// the go-plugin glue (Plugin, ServeConfig, Serve).
//
// The messages of the ABI (MessageView, Decision, HookInfo, HookConfig) are those of sdk/hookv1;
// the service carries their encodings in bytes fields, so the host reuses its view encoder and a Go
// plugin reads the view in place with hookv1.View and answers with hookv1.DecisionBuilder.
//
// Plugin authors do not use this package directly: they register a guest.Plugin and call
// guest.Serve() from main (sdk/guest), which serves it through this package. The host side is
// host.LoadProcess. This package lives apart from sdk/hookv1 so that wasm guests never link gRPC.
//
// Generated files: service.pb.go and service_grpc.pb.go (make proto).
package hookgrpc
