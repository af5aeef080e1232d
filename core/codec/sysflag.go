package codec

// MessageSysFlag bits (Java MessageSysFlag). The sysFlag travels in the send header and in every
// stored record; the broker routes transactions, host widths and compression on these bits, so the
// values are protocol constants and must never change.
const (
	// SysFlagCompressed marks a body the client compressed; the type bits say with what.
	SysFlagCompressed int32 = 0x1
	// SysFlagMultiTags is set by the broker for topics whose filter type is MULTI_TAG.
	SysFlagMultiTags int32 = 0x2

	// SysFlagTransactionNotType is the transaction value (bits 2-3) of an ordinary message.
	SysFlagTransactionNotType int32 = 0x0
	// SysFlagTransactionPrepared marks a half message; the broker parks it until commit/rollback.
	SysFlagTransactionPrepared int32 = 0x4
	// SysFlagTransactionCommit is the committed transaction value (also END_TRANSACTION's commit).
	SysFlagTransactionCommit int32 = 0x8
	// SysFlagTransactionRollback is the rolled-back value and, because it sets both bits, the mask
	// of the transaction field.
	SysFlagTransactionRollback int32 = 0xC

	// SysFlagBornHostV6 says the stored born host is 16-byte IPv6 instead of 4-byte IPv4.
	SysFlagBornHostV6 int32 = 0x10
	// SysFlagStoreHostV6 says the stored store host is 16-byte IPv6 instead of 4-byte IPv4.
	SysFlagStoreHostV6 int32 = 0x20
	// SysFlagNeedUnwrap and SysFlagInnerBatch are broker-side inner-batch markers.
	SysFlagNeedUnwrap int32 = 0x40
	SysFlagInnerBatch int32 = 0x80

	// SysFlagCompressionLZ4, SysFlagCompressionZstd and SysFlagCompressionZlib are the 5.x
	// compression type bits; 4.x clients leave them 0, which readers take as zlib.
	SysFlagCompressionLZ4  int32 = 0x100
	SysFlagCompressionZstd int32 = 0x200
	SysFlagCompressionZlib int32 = 0x300
	// SysFlagCompressionTypeMask selects the compression type bits; the type value is
	// (flag & mask) >> SysFlagCompressionTypeShift.
	SysFlagCompressionTypeMask  int32 = 0x700
	SysFlagCompressionTypeShift int32 = 8
)

// PullSysFlag bits (Java PullSysFlag) for PULL_MESSAGE, which rocketsend uses to read back what it
// sent in tests and tools.
const (
	// PullSysFlagCommitOffset asks the broker to commit the consumer offset carried in the request.
	PullSysFlagCommitOffset int32 = 0x1
	// PullSysFlagSuspend enables long polling (suspendTimeoutMillis).
	PullSysFlagSuspend int32 = 0x2
	// PullSysFlagSubscription sends the subscription inline, which lets a pull succeed without a
	// prior consumer heartbeat.
	PullSysFlagSubscription int32 = 0x4
	// PullSysFlagClassFilter selects the obsolete class filter mode.
	PullSysFlagClassFilter int32 = 0x8
	// PullSysFlagLitePull marks a lite pull consumer.
	PullSysFlagLitePull int32 = 0x10
)

// TransactionValue returns the transaction field of sysFlag: one of SysFlagTransactionNotType,
// Prepared, Commit or Rollback. The two bits form one value, so testing a single bit is wrong.
func TransactionValue(sysFlag int32) int32 {
	return sysFlag & SysFlagTransactionRollback
}

// ResetTransactionValue replaces the transaction field of sysFlag with txType, keeping other bits,
// as Java's MessageSysFlag.resetTransactionValue does.
func ResetTransactionValue(sysFlag, txType int32) int32 {
	return sysFlag&^SysFlagTransactionRollback | txType&SysFlagTransactionRollback
}

// IsCompressed reports whether sysFlag marks a compressed body.
func IsCompressed(sysFlag int32) bool {
	return sysFlag&SysFlagCompressed != 0
}

// CompressionOf returns the algorithm a compressed body used. Type bits 0 (every 4.x client) and 3
// both mean zlib, so that old and new producers decode alike; 1 is LZ4 and 2 is zstd. Values 4..7
// have no algorithm: the result is then not Valid and Decompress refuses it, as Java does.
func CompressionOf(sysFlag int32) CompressionType {
	t := CompressionType((sysFlag & SysFlagCompressionTypeMask) >> SysFlagCompressionTypeShift)
	if t == 0 {
		return Zlib
	}
	return t
}

// BuildPullSysFlag assembles a PULL_MESSAGE sysFlag from its switches.
func BuildPullSysFlag(commitOffset, suspend, subscription, classFilter, litePull bool) int32 {
	var f int32
	if commitOffset {
		f |= PullSysFlagCommitOffset
	}
	if suspend {
		f |= PullSysFlagSuspend
	}
	if subscription {
		f |= PullSysFlagSubscription
	}
	if classFilter {
		f |= PullSysFlagClassFilter
	}
	if litePull {
		f |= PullSysFlagLitePull
	}
	return f
}
