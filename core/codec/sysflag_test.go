package codec

import "testing"

func TestSysFlagValues(t *testing.T) {
	for _, c := range []struct {
		got, want int32
	}{
		{SysFlagCompressed, 0x1}, {SysFlagMultiTags, 0x2}, {SysFlagTransactionNotType, 0},
		{SysFlagTransactionPrepared, 0x4}, {SysFlagTransactionCommit, 0x8}, {SysFlagTransactionRollback, 0xC},
		{SysFlagBornHostV6, 0x10}, {SysFlagStoreHostV6, 0x20}, {SysFlagNeedUnwrap, 0x40}, {SysFlagInnerBatch, 0x80},
		{SysFlagCompressionLZ4, 0x100}, {SysFlagCompressionZstd, 0x200}, {SysFlagCompressionZlib, 0x300},
		{SysFlagCompressionTypeMask, 0x700},
		{PullSysFlagCommitOffset, 1}, {PullSysFlagSuspend, 2}, {PullSysFlagSubscription, 4},
		{PullSysFlagClassFilter, 8}, {PullSysFlagLitePull, 0x10},
	} {
		if c.got != c.want {
			t.Errorf("constant %#x, want %#x", c.got, c.want)
		}
	}
}

func TestTransactionValue(t *testing.T) {
	for flag, want := range map[int32]int32{0: 0, 0x4: 0x4, 0x8: 0x8, 0xC: 0xC, 0x305: 0x4, 0x3F: 0xC, -1: 0xC} {
		if got := TransactionValue(flag); got != want {
			t.Errorf("TransactionValue(%#x) = %#x, want %#x", flag, got, want)
		}
	}
	if got := ResetTransactionValue(0x30D, SysFlagTransactionCommit); got != 0x309 {
		t.Errorf("ResetTransactionValue = %#x, want 0x309", got)
	}
	if got := ResetTransactionValue(0x301, SysFlagTransactionPrepared); got != 0x305 {
		t.Errorf("ResetTransactionValue = %#x, want 0x305", got)
	}
}

func TestCompressionOf(t *testing.T) {
	for flag, want := range map[int32]CompressionType{
		0x1: Zlib, 0x0: Zlib, 0x301: Zlib, 0x300: Zlib, 0x101: LZ4, 0x201: Zstd, 0x33: Zlib,
		0x401: CompressionType(4), 0x701: CompressionType(7),
	} {
		if got := CompressionOf(flag); got != want {
			t.Errorf("CompressionOf(%#x) = %v, want %v", flag, got, want)
		}
	}
	if IsCompressed(0x300) || !IsCompressed(0x1) {
		t.Error("IsCompressed looks at bit 0x1 only")
	}
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		if got := CompressionOf(typ.SysFlag()); got != typ {
			t.Errorf("CompressionOf(%v.SysFlag()) = %v", typ, got)
		}
	}
}

func TestBuildPullSysFlag(t *testing.T) {
	if got := BuildPullSysFlag(false, false, true, false, false); got != 4 {
		t.Errorf("subscription only = %#x", got)
	}
	if got := BuildPullSysFlag(true, true, true, true, true); got != 0x1F {
		t.Errorf("all = %#x", got)
	}
}
