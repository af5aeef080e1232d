package codec

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/message"
)

// Every decoder has a fuzz target. Seeds are valid encodings and their truncations, so a plain
// `go test` exercises them as ordinary tests.

func cdxAddTruncations(f *testing.F, b []byte, extra ...any) {
	for _, n := range []int{0, 1, len(b) / 3, len(b) / 2, len(b) - 1, len(b)} {
		if n >= 0 && n <= len(b) {
			f.Add(append([]any{bytes.Clone(b[:n])}, extra...)...)
		}
	}
}

func FuzzDecodeProperties(f *testing.F) {
	f.Add("")
	f.Add("TAGS\x01TagA\x02KEYS\x01k1 k2\x02")
	f.Add("a\x01b")
	f.Add("\x01\x02\x01\x02a\x01\x02")
	f.Add("a\x01b\x01c\x02a\x01d\x02")
	f.Fuzz(func(t *testing.T, s string) {
		m := DecodeProperties(s)
		if !reflect.DeepEqual(m, DecodePropertiesBytes([]byte(s))) {
			t.Fatal("string and byte decoders disagree")
		}
		for k, v := range m {
			if k == "" || v == "" || strings.ContainsAny(k, "\x01\x02") || strings.Contains(v, "\x02") {
				t.Fatalf("decoded an entry Java would skip: %q=%q", k, v)
			}
		}
		// Re-encoding a decoded set is stable.
		again := DecodePropertiesBytes(AppendProperties(nil, m))
		if len(m) == 0 && again == nil {
			return
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %v -> %v", m, again)
		}
		if PropertiesLen(m) != len(EncodeProperties(m)) {
			t.Fatal("PropertiesLen disagrees with EncodeProperties")
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	cdxAddTruncations(f, cdxGoldenBatch(f))
	cdxAddTruncations(f, EncodeBatch(nil, cdxBatch32(f)[:3]))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := DecodeBatch(body)
		if err != nil {
			var re *RecordError
			if msgs != nil || !errors.As(err, &re) {
				t.Fatalf("error %v with %d messages", err, len(msgs))
			}
			return
		}
		again, err := DecodeBatch(EncodeBatch(nil, msgs))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if len(again) != len(msgs) {
			t.Fatalf("%d messages became %d", len(msgs), len(again))
		}
		for i := range msgs {
			if again[i].Flag != msgs[i].Flag || !bytes.Equal(again[i].Body, msgs[i].Body) ||
				!reflect.DeepEqual(again[i].Properties, msgs[i].Properties) {
				t.Fatalf("message %d changed in a round trip", i)
			}
		}
	})
}

func cdxStoredSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{cdxGoldenV1(f)}
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		seeds = append(seeds, AppendMessageExt(nil, &message.MessageExt{
			Message:   message.Message{Topic: "T", Body: cdxMust(Compress(nil, []byte("hello hello hello"), typ, 5))},
			SysFlag:   typ.SysFlag() | SysFlagBornHostV6,
			BornHost:  netip.MustParseAddrPort("[::1]:1"),
			StoreHost: netip.MustParseAddrPort("1.2.3.4:10911"),
		}, typ == Zstd))
	}
	return seeds
}

func FuzzDecodeMessageExt(f *testing.F) {
	for _, s := range cdxStoredSeeds(f) {
		cdxAddTruncations(f, s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, decompress bool) {
		m, n, err := DecodeMessageExtLimit(b, decompress, 1<<16)
		if err != nil {
			var re *RecordError
			if m != nil || n != 0 || !errors.As(err, &re) {
				t.Fatalf("error %v with message %v, n %d", err, m, n)
			}
			return
		}
		if n < storedMinSize || n > len(b) || int(m.StoreSize) != n {
			t.Fatalf("consumed %d of %d, StoreSize %d", n, len(b), m.StoreSize)
		}
		if len(m.Body) > 1<<16 && decompress {
			t.Fatalf("decompressed past the cap: %d", len(m.Body))
		}
		// Re-encode and decode again (without decompression, which is not reversible here):
		// every field survives.
		rec := AppendMessageExt(nil, m, b[7] == 0xAB)
		m2, n2, err := DecodeMessageExt(rec, false)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if n2 != len(rec) {
			t.Fatalf("re-encoded record: consumed %d of %d", n2, len(rec))
		}
		m.StoreSize, m2.StoreSize = 0, 0
		m.BodyCRC, m2.BodyCRC = 0, 0
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

func FuzzDecodeMessageExts(f *testing.F) {
	seeds := cdxStoredSeeds(f)
	all := bytes.Join(seeds, nil)
	cdxAddTruncations(f, all)
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := DecodeMessageExtsLimit(b, true, 1<<16)
		total := 0
		for _, m := range msgs {
			total += int(m.StoreSize)
		}
		if total > len(b) || (err == nil && total != len(b)) {
			t.Fatalf("records cover %d of %d bytes (err %v)", total, len(b), err)
		}
	})
}

func FuzzDecodeOffsetMsgID(f *testing.F) {
	f.Add("7F00000100002A9F0000000000000000")
	f.Add("20010DB800000000000000000000000100002A9F0102030405060708")
	f.Add("00000000000000000000FFFF7F00000100002A9F0102030405060708")
	f.Add("7f00000100002a9fffffffffffffffff")
	f.Add("7F000001")
	f.Fuzz(func(t *testing.T, id string) {
		host, off, err := DecodeOffsetMsgID(id)
		if err != nil {
			if !errors.Is(err, ErrBadMessageID) {
				t.Fatalf("error without ErrBadMessageID: %v", err)
			}
			return
		}
		enc := EncodeOffsetMsgID(host, off)
		if host.Addr().Is4In6() {
			// Java and this package write a mapped address as IPv4.
			h2, off2, err := DecodeOffsetMsgID(enc)
			if err != nil || h2.Addr() != host.Addr().Unmap() || h2.Port() != host.Port() || off2 != off {
				t.Fatalf("mapped round trip: %v %v %d", err, h2, off2)
			}
			return
		}
		if enc != strings.ToUpper(id) {
			t.Fatalf("round trip %q -> %q", id, enc)
		}
		if _, err := ParseUniqID(id); err != nil {
			t.Fatalf("ParseUniqID refused a well-formed id: %v", err)
		}
	})
}

func FuzzParseUniqID(f *testing.F) {
	f.Add("0A0000012345CAFEBABE16DA38400000")
	f.Add(strings.Repeat("f", 56))
	f.Add("0A00000")
	f.Fuzz(func(t *testing.T, id string) {
		info, err := ParseUniqID(id)
		if err != nil {
			return
		}
		if !info.IP.IsValid() || info.Time.IsZero() {
			t.Fatalf("parsed %+v", info)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	text := cdxText(3000)
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		c := cdxMust(Compress(nil, text, typ, 5))
		cdxAddTruncations(f, c, uint8(typ))
		f.Add(cdxMust(Compress(nil, make([]byte, 100000), typ, 5)), uint8(typ)) // over the cap
	}
	for _, v := range cdxCompressedVectors {
		f.Add(cdxHex(f, v.hex), uint8(v.typ))
	}
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		ct := CompressionType(typ%3 + 1)
		const limit = 1 << 16
		out, err := Decompress(data, ct, limit)
		if err == nil && len(out) > limit {
			t.Fatalf("%v: %d bytes past the cap", ct, len(out))
		}
		if err != nil && out != nil {
			t.Fatal("output with an error")
		}
		// Anything compresses and decompresses back, at a level derived from the input.
		level := int(typ) % 10
		c, err := Compress(nil, data, ct, level)
		if err != nil {
			t.Fatalf("%v level %d: %v", ct, level, err)
		}
		back, err := Decompress(c, ct, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%v level %d: round trip failed: %v", ct, level, err)
		}
	})
}
