package send

import (
	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// The wire-level types a producer's options and hooks mention, named here so that a user of send
// never imports core/codec or core/remote. They are aliases: the values are the same.
type (
	// CompressionType is a body compression algorithm (WithCompression).
	CompressionType = codec.CompressionType
	// SerializeType is the header format of requests (WithSerializeType).
	SerializeType = codec.SerializeType
	// RPCHook sees, and may amend, every request on the wire (WithRPCHooks); ACL signing is one.
	RPCHook = remote.RPCHook
	// Command is one remoting frame, as an RPCHook sees it.
	Command = codec.Command
	// TopicRouteData is a topic's route as the NameServer gives it (TopicRoute).
	TopicRouteData = codec.TopicRouteData
	// ValidationError names the rule a refused message, topic or group broke; it matches
	// ErrValidation.
	ValidationError = codec.ValidationError
)

// Compression algorithms. Zlib is the default and the only one 4.x consumers read.
const (
	CompressZlib = codec.Zlib
	CompressLZ4  = codec.LZ4
	CompressZstd = codec.Zstd
)

// Header formats. SerializeRocketMQ (binary) is the default.
const (
	SerializeJSON     = codec.SerializeJSON
	SerializeRocketMQ = codec.SerializeRocketMQ
)

// Request codes of the send requests (Command.Code), for RPC hooks that count or trace sends. An
// auto-batch or SendBatch request is RequestSendBatchMessage; every other send the producer makes
// is RequestSendMessageV2 (a reply is RequestSendReplyMessageV2).
const (
	RequestSendMessageV2      = codec.SendMessageV2
	RequestSendBatchMessage   = codec.SendBatchMessage
	RequestSendReplyMessageV2 = codec.SendReplyMessageV2
)
