package codec

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"go.uber.org/goleak"
)

// cdxText returns n bytes of text-like data (log lines with varying numbers), which compresses the
// way real message bodies do.
func cdxText(n int) []byte {
	var sb strings.Builder
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"order", "created", "user", "amount", "status", "PAID", "SHIPPED", "warehouse", "sku"}
	for sb.Len() < n {
		fmt.Fprintf(&sb, `{"id":%d,"%s":"%s","%s":%d.%02d}`+"\n", r.IntN(1e9), words[r.IntN(len(words))],
			words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(10000), r.IntN(100))
	}
	return []byte(sb.String()[:n])
}

func TestCompressionTypeNames(t *testing.T) {
	for typ, want := range map[CompressionType]string{Zlib: "ZLIB", LZ4: "LZ4", Zstd: "ZSTD", 0: "CompressionType(0)", 9: "CompressionType(9)"} {
		if typ.String() != want {
			t.Errorf("%d.String() = %q, want %q", uint8(typ), typ.String(), want)
		}
		if got, err := ParseCompressionType(strings.ToLower(want)); typ.Valid() && (err != nil || got != typ) {
			t.Errorf("ParseCompressionType(%q) = %v, %v", want, got, err)
		}
	}
	if _, err := ParseCompressionType("snappy"); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("snappy: %v", err)
	}
	for typ, want := range map[CompressionType]int32{Zlib: 0x301, LZ4: 0x101, Zstd: 0x201} {
		if typ.SysFlag() != want {
			t.Errorf("%v.SysFlag() = %#x, want %#x", typ, typ.SysFlag(), want)
		}
	}
	if DefaultCompressionType != Zlib || DefaultCompressLevel != 5 || DefaultCompressThreshold != 4096 {
		t.Error("defaults differ from Java's")
	}
}

func TestCompressRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"empty": {},
		"byte":  {42},
		"text":  cdxText(16 << 10),
		"random": func() []byte {
			b := make([]byte, 5000)
			r := rand.New(rand.NewPCG(3, 4))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		}(),
		"big": cdxText(100 << 10), // over 64 KiB: LZ4 switches to 256 KiB blocks
	}
	levels := map[CompressionType][]int{
		Zlib: {-1, 0, 5, 9},
		LZ4:  {-3, 5, 6, 9},
		Zstd: {-5, 0, 5, 7, 19},
	}
	magic := map[CompressionType][]byte{Zlib: {0x78}, LZ4: {0x04, 0x22, 0x4D, 0x18}, Zstd: {0x28, 0xB5, 0x2F, 0xFD}}
	for typ, lv := range levels {
		for _, level := range lv {
			for name, in := range inputs {
				if name == "big" && level != 5 {
					continue // one large input per type is enough; it is slow under -race
				}
				out, err := Compress([]byte("keep"), in, typ, level)
				if err != nil {
					t.Fatalf("%v level %d %s: %v", typ, level, name, err)
				}
				if string(out[:4]) != "keep" {
					t.Fatalf("%v: dst prefix overwritten", typ)
				}
				out = out[4:]
				if !bytes.HasPrefix(out, magic[typ]) {
					t.Errorf("%v level %d %s: starts % X", typ, level, name, out[:min(len(out), 4)])
				}
				back, err := Decompress(out, typ, len(in)+1)
				if err != nil || !bytes.Equal(back, in) {
					t.Errorf("%v level %d %s: round trip failed: %v", typ, level, name, err)
				}
				// An independent decoder must read it too: what Java would do.
				if ref := cdxReferenceDecode(t, typ, out); !bytes.Equal(ref, in) {
					t.Errorf("%v level %d %s: reference decoder disagrees", typ, level, name)
				}
			}
		}
	}
}

// cdxReferenceDecode decodes with the libraries directly, bypassing this package's pools and caps.
func cdxReferenceDecode(t *testing.T, typ CompressionType, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch typ {
	case Zlib:
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case LZ4:
		r = lz4.NewReader(bytes.NewReader(b))
	case Zstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		out, err := d.DecodeAll(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompressFormatDetails(t *testing.T) {
	in := cdxText(1000)
	z, _ := Compress(nil, in, Zlib, 5)
	if z[0] != 0x78 || (uint16(z[0])<<8|uint16(z[1]))%31 != 0 || z[1] != 0x5E {
		t.Errorf("zlib header % X, want 78 5E (level 5, as Java's Deflater)", z[:2])
	}
	l, _ := Compress(nil, in, LZ4, 5)
	// FLG 0x60: version 01, independent blocks, no checksums, no size; BD 0x40: 64 KiB blocks.
	if l[4] != 0x60 || l[5] != 0x40 {
		t.Errorf("LZ4 descriptor % X, want 60 40", l[4:6])
	}
	if _, err := Compress(nil, in, Zlib, 10); err == nil {
		t.Error("zlib level 10 accepted")
	}
	if _, err := Compress(nil, in, CompressionType(0), 5); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("type 0: %v", err)
	}
	if _, err := Decompress(z, CompressionType(5), 0); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("type 5: %v", err)
	}
}

func TestDecompressCap(t *testing.T) {
	bomb := make([]byte, 2<<20) // 2 MiB of zeros compresses to a few KiB
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		c, err := Compress(nil, bomb, typ, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 1000, 1 << 20, len(bomb) - 1} {
			out, err := Decompress(c, typ, limit)
			if out != nil || !errors.Is(err, ErrDecompressedTooLarge) {
				t.Errorf("%v cap %d: got %d bytes, %v", typ, limit, len(out), err)
			}
		}
		if out, err := Decompress(c, typ, len(bomb)); err != nil || len(out) != len(bomb) {
			t.Errorf("%v: exact cap: %d bytes, %v", typ, len(out), err)
		}
	}
	// A zstd stream without a declared size (as zstd-jni streams) is capped while decoding.
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	w.Write(bomb)
	w.Close()
	if _, err := Decompress(buf.Bytes(), Zstd, 1<<20); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("zstd stream without FCS: %v", err)
	}
	if out, err := Decompress(buf.Bytes(), Zstd, 0); err != nil || len(out) != len(bomb) {
		t.Errorf("zstd stream without FCS, default cap: %d, %v", len(out), err)
	}
	err := fmt.Sprint(Decompress(cdxMust(Compress(nil, bomb, Zlib, 5)), Zlib, 1000))
	if !strings.Contains(err, "ZLIB body is larger than the cap of 1000 bytes") {
		t.Errorf("cap error text: %s", err)
	}
}

func cdxMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecompressCorrupt(t *testing.T) {
	in := cdxText(5000)
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		good := cdxMust(Compress(nil, in, typ, 5))
		cases := map[string][]byte{
			"nil":       nil,
			"garbage":   []byte("definitely not compressed"),
			"truncated": good[:len(good)/2],
			"header":    good[:min(len(good), 6)],
		}
		flipped := bytes.Clone(good)
		flipped[len(flipped)/2] ^= 0xFF
		cases["flipped"] = flipped
		for name, c := range cases {
			out, err := Decompress(c, typ, 1<<20)
			// An LZ4 frame without checksums (Java writes none) cannot always notice a flipped
			// byte; every other corruption must be reported.
			if err == nil && !(typ == LZ4 && name == "flipped") {
				t.Errorf("%v %s: accepted (%d bytes)", typ, name, len(out))
			}
		}
	}
}

func TestCompressConcurrentNoLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	in := cdxText(16 << 10)
	var wg sync.WaitGroup
	for g := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			typ := []CompressionType{Zlib, LZ4, Zstd}[g%3]
			for range 10 {
				c, err := Compress(nil, in, typ, 1+g%5)
				if err != nil {
					t.Error(err)
					return
				}
				out, err := Decompress(c, typ, len(in))
				if err != nil || !bytes.Equal(out, in) {
					t.Errorf("%v: %v", typ, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCompress16KiB(b *testing.B) {
	in := cdxText(16 << 10)
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		b.Run(typ.String(), func(b *testing.B) {
			buf := make([]byte, 0, 32<<10)
			out, _ := Compress(nil, in, typ, DefaultCompressLevel)
			b.ReportMetric(float64(len(out))/float64(len(in)), "ratio")
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = Compress(buf[:0], in, typ, DefaultCompressLevel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecompress16KiB(b *testing.B) {
	in := cdxText(16 << 10)
	for _, typ := range []CompressionType{Zlib, LZ4, Zstd} {
		b.Run(typ.String(), func(b *testing.B) {
			c := cdxMust(Compress(nil, in, typ, DefaultCompressLevel))
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decompress(c, typ, DefaultMaxMessageSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestZstdHostileHeaders(t *testing.T) {
	// Frame header: magic, FHD 0x00 (no FCS, no checksum), window descriptor, then one raw
	// last block holding "hello".
	frame := func(windowDesc byte) []byte {
		return cdxHex(t, "28B52FFD", "00", hex.EncodeToString([]byte{windowDesc}), "290000", cdxAsc("hello"))
	}
	// 2^(10+13) = 8 MiB window: what zstd-jni level 19 declares; must decode even with a tiny cap.
	if out, err := Decompress(frame(13<<3), Zstd, 16); err != nil || string(out) != "hello" {
		t.Errorf("8 MiB window: %q, %v", out, err)
	}
	// A 1 GiB window from a 13-byte input is refused before anything is allocated.
	if _, err := Decompress(frame(20<<3), Zstd, 0); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("1 GiB window: %v", err)
	}
	// A declared content size over the cap is refused up front: FHD 0xE0 = single segment with an
	// 8-byte little-endian FCS, here 4 GiB.
	big := cdxHex(t, "28B52FFD", "E0", "0000000001000000", "290000", cdxAsc("hello"))
	if _, err := Decompress(big, Zstd, 1<<20); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("FCS 4 GiB: %v", err)
	}
	// A lying content size within the cap (64 MiB) costs memory bounded by the cap and fails as
	// corrupt rather than too large.
	liar := cdxHex(t, "28B52FFD", "E0", "0000000400000000", "290000", cdxAsc("hello"))
	if _, err := Decompress(liar, Zstd, 64<<20); err == nil || errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("lying FCS: %v", err)
	}
}
