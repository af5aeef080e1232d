package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/message"
)

// cdxHex decodes hex pieces (spaces allowed) into bytes; the golden records below are written
// field by field with it, straight from the layout table of the reference (§6.2).
func cdxHex(t testing.TB, pieces ...string) []byte {
	t.Helper()
	s := strings.ReplaceAll(strings.Join(pieces, ""), " ", "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test vector: %v", err)
	}
	return b
}

// cdxAsc returns the hex of an ASCII string, for text fields of hand-built vectors.
func cdxAsc(s string) string { return hex.EncodeToString([]byte(s)) }

const cdxUniq = "0A0000010FA2ABCDEF01017A43B20007" // 32-char UNIQ_KEY used in vectors

// cdxGoldenV1 is a V1 record with IPv4 hosts, built by hand:
// 88 fixed bytes + 5 body + 1+9 topic + 2+52 properties = 157 (0x9D).
func cdxGoldenV1(t testing.TB) []byte {
	return cdxHex(t,
		"0000009D",                  // 1 TOTALSIZE 157
		"DAA320A7",                  // 2 MAGICCODE V1
		"3610A686",                  // 3 BODYCRC crc32("hello") & 0x7FFFFFFF
		"00000003",                  // 4 QUEUEID 3
		"00000007",                  // 5 FLAG 7
		"000000000000002A",          // 6 QUEUEOFFSET 42
		"0000000000001000",          // 7 PHYSICALOFFSET 4096
		"00000000",                  // 8 SYSFLAG 0
		"0000018BCFE56800",          // 9 BORNTIMESTAMP 1700000000000
		"C0A80001 0000D431",         // 10 BORNHOST 192.168.0.1:54321
		"0000018BCFE5687B",          // 11 STORETIMESTAMP 1700000000123
		"7F000001 00002A9F",         // 12 STOREHOST 127.0.0.1:10911
		"00000002",                  // 13 RECONSUMETIMES 2
		"0000000000000000",          // 14 PREPAREDTRANSACTIONOFFSET 0
		"00000005", cdxAsc("hello"), // 15 BODYLEN + BODY
		"09", cdxAsc("TopicTest"), // 16 TOPICLEN (1 byte) + TOPIC
		"0034", cdxAsc("TAGS\x01TagA\x02UNIQ_KEY\x01"+cdxUniq+"\x02"), // 17 PROPLEN 52 + PROPERTIES
	)
}

func TestDecodeMessageExtGoldenV1(t *testing.T) {
	rec := cdxGoldenV1(t)
	if len(rec) != 157 {
		t.Fatalf("vector is %d bytes, want 157", len(rec))
	}
	// Trailing bytes belong to the next record and must not be consumed.
	m, n, err := DecodeMessageExt(append(rec, 0xEE, 0xEE), true)
	if err != nil {
		t.Fatal(err)
	}
	if n != 157 {
		t.Errorf("consumed %d, want 157", n)
	}
	want := &message.MessageExt{
		Message: message.Message{
			Topic:      "TopicTest",
			Flag:       7,
			Body:       []byte("hello"),
			Properties: map[string]string{"TAGS": "TagA", "UNIQ_KEY": cdxUniq},
		},
		MsgID:                     cdxUniq,
		OffsetMsgID:               "7F00000100002A9F0000000000001000",
		QueueID:                   3,
		StoreSize:                 157,
		BodyCRC:                   0x3610A686,
		QueueOffset:               42,
		CommitLogOffset:           4096,
		SysFlag:                   0,
		BornTimestamp:             1700000000000,
		BornHost:                  netip.MustParseAddrPort("192.168.0.1:54321"),
		StoreTimestamp:            1700000000123,
		StoreHost:                 netip.MustParseAddrPort("127.0.0.1:10911"),
		ReconsumeTimes:            2,
		PreparedTransactionOffset: 0,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", m, want)
	}
	if m.Tags() != "TagA" {
		t.Errorf("Tags() = %q", m.Tags())
	}
	// The encoder must reproduce the hand-built bytes (one property, so map order is moot).
	single := *m
	single.Properties = map[string]string{"TAGS": "TagA"}
	got := AppendMessageExt(nil, &single, false)
	// 103 bytes up to the end of the topic + 2 + 10 = 115 (0x73).
	wantBytes := cdxHex(t, "00000073", hex.EncodeToString(rec[4:103]), "000A", cdxAsc("TAGS\x01TagA\x02"))
	if !bytes.Equal(got, wantBytes) {
		t.Errorf("AppendMessageExt\n got %X\nwant %X", got, wantBytes)
	}
}

func TestDecodeMessageExtNoUniqKeyUsesOffsetID(t *testing.T) {
	rec := cdxHex(t,
		"00000064", "DAA320A7", "00000000", "00000000", "00000000",
		"0000000000000000", "00000000000000FF", "00000000", "0000000000000000",
		"0A000001 00000000", "0000000000000000", "7F000001 00002A9F",
		"00000000", "0000000000000000",
		"00000000", // empty body
		"01", cdxAsc("T"),
		"0008", cdxAsc("KEYS\x01k1\x02"),
	)
	m, n, err := DecodeMessageExt(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(rec) {
		t.Errorf("consumed %d of %d", n, len(rec))
	}
	if m.MsgID != "7F00000100002A9F00000000000000FF" || m.OffsetMsgID != m.MsgID {
		t.Errorf("MsgID %q OffsetMsgID %q", m.MsgID, m.OffsetMsgID)
	}
	if m.Body != nil {
		t.Errorf("empty body decoded as %v, want nil", m.Body)
	}
	if m.Properties["KEYS"] != "k1" {
		t.Errorf("properties %v", m.Properties)
	}
}

func TestDecodeMessageExtIPv6AndV2(t *testing.T) {
	// sysFlag 0x30: both hosts IPv6 (16 + 4 bytes each); V2 magic: 2-byte topic length.
	rec := cdxHex(t,
		"00000082",             // TOTALSIZE 130
		"DAA320AB",             // MAGICCODE V2
		"3610A686",             // BODYCRC
		"00000001", "00000000", // QUEUEID, FLAG
		"0000000000000001", "0000000000ABCDEF", // QUEUEOFFSET, PHYSICALOFFSET
		"00000030",         // SYSFLAG born v6 | store v6
		"0000000000000001", // BORNTIMESTAMP
		"00000000000000000000000000000001 00001F90", // BORNHOST [::1]:8080
		"0000000000000002",                          // STORETIMESTAMP
		"20010DB8000000000000000000000001 00002A9F", // STOREHOST [2001:db8::1]:10911
		"00000000", "0000000000000000",
		"00000005", cdxAsc("hello"),
		"0009", cdxAsc("TopicTest"),
		"0000",
	)
	// 20 + 16 + 4 + 8 + 20 + 8 + 20 + 4 + 8 + (4+5) + (2+9) + 2 = 130
	if len(rec) != 130 {
		t.Fatalf("vector is %d bytes, want 130", len(rec))
	}
	m, n, err := DecodeMessageExt(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	if n != 130 {
		t.Errorf("consumed %d, want 130", n)
	}
	if m.BornHost != netip.MustParseAddrPort("[::1]:8080") || m.StoreHost != netip.MustParseAddrPort("[2001:db8::1]:10911") {
		t.Errorf("hosts %v %v", m.BornHost, m.StoreHost)
	}
	if want := "20010DB800000000000000000000000100002A9F0000000000ABCDEF"; m.OffsetMsgID != want || m.MsgID != want {
		t.Errorf("OffsetMsgID %q want %q", m.OffsetMsgID, want)
	}
	if m.Topic != "TopicTest" || m.Properties != nil || string(m.Body) != "hello" {
		t.Errorf("topic %q props %v body %q", m.Topic, m.Properties, m.Body)
	}
	if got := AppendMessageExt(nil, m, true); !bytes.Equal(got, rec) {
		t.Errorf("re-encode\n got %X\nwant %X", got, rec)
	}
}

// cdxCompressedVectors are bodies compressed outside this package's Compress: zlib from C zlib
// (Python zlib.compress(level 5), what java.util.zip.Deflater writes), an LZ4 frame assembled by
// hand (lz4-java's header 04224D18 60 70 73, one compressed block, end mark) and a zstd frame with
// one raw block assembled by hand.
var cdxCompressedVectors = []struct {
	name    string
	typ     CompressionType
	sysFlag string
	hex     string
	plain   string
}{
	{"zlib-4.x-flag", Zlib, "00000001", "785ECB48CDC9C957C8402701680308B1", "hello hello hello hello"},
	{"zlib", Zlib, "00000301", "785ECB48CDC9C957C8402701680308B1", "hello hello hello hello"},
	{"lz4", LZ4, "00000101", "04224D18607073" + "0F000000" + "68" + "68656C6C6F20" + "0600" + "50" + "68656C6C6F" + "00000000", "hello hello hello hello"},
	{"lz4-raw-block", LZ4, "00000101", "04224D18607073" + "05000080" + "68656C6C6F" + "00000000", "hello"},
	{"zstd", Zstd, "00000201", "28B52FFD" + "20" + "05" + "290000" + "68656C6C6F", "hello"},
}

func TestDecodeMessageExtCompressed(t *testing.T) {
	for _, v := range cdxCompressedVectors {
		t.Run(v.name, func(t *testing.T) {
			body := cdxHex(t, v.hex)
			rec := cdxHex(t,
				"00000000", "DAA320A7", "00000000", "00000000", "00000000",
				"0000000000000000", "0000000000000000",
				v.sysFlag,
				"0000000000000000", "7F000001 00000001", "0000000000000000", "7F000001 00002A9F",
				"00000000", "0000000000000000",
			)
			rec = append(rec, byte(len(body)>>24), byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
			rec = append(rec, body...)
			rec = append(rec, cdxHex(t, "01", cdxAsc("T"), "0000")...)
			rec[2], rec[3] = byte(len(rec)>>8), byte(len(rec))
			flag := int32(cdxHex(t, v.sysFlag)[2])<<8 | int32(cdxHex(t, v.sysFlag)[3])

			m, _, err := DecodeMessageExt(rec, true)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != v.plain {
				t.Errorf("body %q, want %q", m.Body, v.plain)
			}
			if m.SysFlag != flag&^SysFlagCompressed {
				t.Errorf("sysFlag %#x, want %#x (compressed bit cleared, type bits kept)", m.SysFlag, flag&^SysFlagCompressed)
			}
			raw, _, err := DecodeMessageExt(rec, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw.Body, body) || raw.SysFlag != flag {
				t.Errorf("without decompression: body %X sysFlag %#x", raw.Body, raw.SysFlag)
			}
			if got, err := Decompress(body, v.typ, 0); err != nil || string(got) != v.plain {
				t.Errorf("Decompress: %q, %v", got, err)
			}
		})
	}
}

func TestDecodeMessageExtDecompressionCap(t *testing.T) {
	plain := bytes.Repeat([]byte("a"), 10000)
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		body, err := Compress(nil, plain, typ, 5)
		if err != nil {
			t.Fatal(err)
		}
		rec := AppendMessageExt(nil, &message.MessageExt{
			Message: message.Message{Topic: "T", Body: body},
			SysFlag: typ.SysFlag(),
		}, false)
		if _, _, err := DecodeMessageExtLimit(rec, true, 9999); !errors.Is(err, ErrDecompressedTooLarge) || !errors.Is(err, ErrMalformedRecord) {
			t.Errorf("%s: cap not enforced: %v", typ, err)
		}
		if m, _, err := DecodeMessageExtLimit(rec, true, 10000); err != nil || !bytes.Equal(m.Body, plain) {
			t.Errorf("%s: exact cap refused: %v", typ, err)
		}
	}
}

func TestDecodeMessageExtErrors(t *testing.T) {
	good := cdxGoldenV1(t)
	patch := func(at int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[at:], b)
		return c
	}
	tests := []struct {
		name  string
		in    []byte
		field string
		text  string
	}{
		{"empty", nil, "TOTALSIZE", "codec: stored message 0: TOTALSIZE at byte 0: need 8 bytes for TOTALSIZE and MAGICCODE, 0 left"},
		{"bad magic", patch(4, 1, 2, 3, 4), "MAGICCODE", "codec: stored message 0: MAGICCODE at byte 4: 0x01020304 is not a message (want 0xDAA320A7 or 0xDAA320AB)"},
		{"blank magic", patch(4, 0xCB, 0xD4, 0x31, 0x94), "MAGICCODE", ""},
		{"size too small", patch(0, 0, 0, 0, 10), "TOTALSIZE", "codec: stored message 0: TOTALSIZE at byte 0: 10 is smaller than the 91-byte minimum record"},
		{"size negative", patch(0, 0xFF, 0xFF, 0xFF, 0xFF), "TOTALSIZE", ""},
		{"size beyond input", patch(0, 0, 0, 1, 0), "TOTALSIZE", "codec: stored message 0: TOTALSIZE at byte 0: 256 exceeds the 157 bytes left"},
		{"truncated", good[:100], "TOTALSIZE", ""},
		{"v6 flag without room", patch(36, 0, 0, 0, 0x30), "", ""},
		{"born port", patch(52, 0x00, 0x01, 0x00, 0x00), "BORNHOST", "codec: stored message 0: BORNHOST at byte 52: port 65536 out of range 0..65535"},
		{"store port", patch(68, 0x80, 0, 0, 0), "STOREHOST", ""},
		{"body negative", patch(84, 0xFF, 0xFF, 0xFF, 0xFE), "BODYLEN", "codec: stored message 0: BODYLEN at byte 84: -2 is negative"},
		{"body too long", patch(84, 0, 0, 0, 100), "BODYLEN", ""},
		{"topic too long", patch(93, 200), "TOPICLEN", ""},
		{"props negative", patch(103, 0x80, 0x00), "PROPLEN", ""},
		{"props too long", patch(103, 0x00, 0x35), "PROPLEN", "codec: stored message 0: PROPLEN at byte 103: 53 does not fit in the 52 bytes left of TOTALSIZE 157"},
		{"corrupt compressed body", patch(36, 0, 0, 0, 1), "BODY", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeMessageExt(tc.in, true)
			var re *RecordError
			if !errors.As(err, &re) || !errors.Is(err, ErrMalformedRecord) {
				t.Fatalf("err = %v, want a *RecordError", err)
			}
			if tc.field != "" && re.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", re.Field, tc.field, err)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tc.text)
			}
		})
	}
}

func TestDecodeMessageExts(t *testing.T) {
	var buf []byte
	var want []*message.MessageExt
	for i := range 5 {
		m := &message.MessageExt{
			Message:         message.Message{Topic: "TopicTest", Body: []byte{byte(i)}, Properties: map[string]string{"UNIQ_KEY": cdxUniq}},
			QueueOffset:     int64(i),
			CommitLogOffset: int64(i * 1000),
			StoreHost:       netip.MustParseAddrPort("10.0.0.1:10911"),
			BornHost:        netip.MustParseAddrPort("10.0.0.2:4000"),
		}
		buf = AppendMessageExt(buf, m, i%2 == 1)
		want = append(want, m)
	}
	got, err := DecodeMessageExts(buf, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].QueueOffset != int64(i) || got[i].Body[0] != byte(i) || got[i].MsgID != cdxUniq ||
			got[i].OffsetMsgID != EncodeOffsetMsgID(want[i].StoreHost, want[i].CommitLogOffset) {
			t.Errorf("record %d: %+v", i, got[i])
		}
	}
	// A truncated tail yields the whole records before it and an error about the broken one.
	got, err = DecodeMessageExts(buf[:len(buf)-3], false)
	var re *RecordError
	if len(got) != 4 || !errors.As(err, &re) || re.Index != 4 {
		t.Errorf("truncated: %d records, err %v", len(got), err)
	}
	if got, err := DecodeMessageExts(nil, false); err != nil || len(got) != 0 {
		t.Errorf("empty input: %v %v", got, err)
	}
}

func TestAppendMessageExtRoundTrip(t *testing.T) {
	cases := []*message.MessageExt{
		{Message: message.Message{Topic: "a"}},
		{Message: message.Message{Topic: strings.Repeat("t", 127), Body: []byte("x")}},
		{Message: message.Message{Topic: strings.Repeat("t", 200), Body: []byte("x")}}, // forces V2
		{
			Message:        message.Message{Topic: "T", Flag: -1, Body: bytes.Repeat([]byte{0}, 300), Properties: map[string]string{"A": "1", "B": "2"}},
			QueueID:        -1,
			SysFlag:        SysFlagTransactionPrepared,
			BornHost:       netip.MustParseAddrPort("[fe80::1]:1"),
			StoreHost:      netip.MustParseAddrPort("1.2.3.4:65535"),
			ReconsumeTimes: 16,
		},
		{Message: message.Message{Topic: "T"}, SysFlag: SysFlagStoreHostV6, StoreHost: netip.MustParseAddrPort("1.2.3.4:5")},
	}
	for i, in := range cases {
		for _, v2 := range []bool{false, true} {
			rec := AppendMessageExt([]byte("prefix"), in, v2)[6:]
			m, n, err := DecodeMessageExt(rec, false)
			if err != nil {
				t.Fatalf("case %d v2=%v: %v", i, v2, err)
			}
			if n != len(rec) || int(m.StoreSize) != n {
				t.Errorf("case %d: consumed %d StoreSize %d of %d", i, n, m.StoreSize, len(rec))
			}
			if m.Topic != in.Topic || m.Flag != in.Flag || !bytes.Equal(m.Body, in.Body) || m.QueueID != in.QueueID ||
				m.ReconsumeTimes != in.ReconsumeTimes || m.BodyCRC != BodyCRC(in.Body) ||
				!reflect.DeepEqual(m.Properties, cdxNilIfEmpty(in.Properties)) {
				t.Errorf("case %d: got %+v", i, m)
			}
			if in.BornHost.IsValid() && m.BornHost != in.BornHost {
				t.Errorf("case %d: born host %v want %v", i, m.BornHost, in.BornHost)
			}
			if in.StoreHost.IsValid() && m.StoreHost.Addr().Unmap() != in.StoreHost.Addr().Unmap() {
				t.Errorf("case %d: store host %v want %v", i, m.StoreHost, in.StoreHost)
			}
			isV2 := rec[7] == 0xAB
			if isV2 != (v2 || len(in.Topic) > 127) {
				t.Errorf("case %d: v2 magic %v", i, isV2)
			}
		}
	}
	if got := AppendMessageExt([]byte("x"), nil, false); string(got) != "x" {
		t.Errorf("nil message appended %q", got)
	}
}

func cdxNilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func BenchmarkDecodeMessageExt(b *testing.B) {
	m := &message.MessageExt{
		Message: message.Message{Topic: "BenchmarkTopic", Body: bytes.Repeat([]byte("x"), 1024),
			Properties: map[string]string{"UNIQ_KEY": cdxUniq, "TAGS": "TagA", "KEYS": "order-1", "WAIT": "true", "CLUSTER": "DefaultCluster"}},
		StoreHost: netip.MustParseAddrPort("10.0.0.1:10911"),
		BornHost:  netip.MustParseAddrPort("10.0.0.2:4000"),
	}
	rec := AppendMessageExt(nil, m, false)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeMessageExt(rec, true); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRecordErrorsMatchErrMalformed(t *testing.T) {
	_, _, err := DecodeMessageExt([]byte{0, 0, 0, 9}, false)
	if !errors.Is(err, ErrMalformedRecord) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}
