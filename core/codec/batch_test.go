package codec

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/message"
)

// cdxGoldenBatch is a two-record SEND_BATCH_MESSAGE body built by hand from §6.1.
func cdxGoldenBatch(t testing.TB) []byte {
	return cdxHex(t,
		// record 0: 20 + 3 body + 2 + 12 properties = 37 (0x25)
		"00000025",                // TOTALSIZE
		"00000000",                // MAGICCODE 0
		"00000000",                // BODYCRC 0
		"00000005",                // FLAG 5
		"00000003", cdxAsc("abc"), // BODYLEN + BODY
		"000C", cdxAsc("TAGS\x01TagA\x02\x01\x02"), // PROPLEN 12: one pair plus an empty-name segment Java skips
		// record 1: 20 + 0 body + 2 + 0 properties = 22 (0x16)
		"00000016", "00000000", "00000000", "FFFFFFFF",
		"00000000",
		"0000",
	)
}

func TestDecodeBatchGolden(t *testing.T) {
	msgs, err := DecodeBatch(cdxGoldenBatch(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []*message.Message{
		{Flag: 5, Body: []byte("abc"), Properties: map[string]string{"TAGS": "TagA"}},
		{Flag: -1},
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("got %+v %+v", msgs[0], msgs[1])
	}
}

func TestAppendBatchRecordGolden(t *testing.T) {
	m := &message.Message{Topic: "ignored", Flag: 5, Body: []byte("abc"), Properties: map[string]string{"TAGS": "TagA", "EMPTY": ""}}
	got := AppendBatchRecord([]byte{0xAA}, m)
	want := append([]byte{0xAA}, cdxHex(t, "00000023 00000000 00000000 00000005 00000003", cdxAsc("abc"), "000A", cdxAsc("TAGS\x01TagA\x02"))...)
	if !bytes.Equal(got, want) {
		t.Errorf("got  %X\nwant %X", got, want)
	}
	if n := BatchRecordSize(m); n != len(want)-1 {
		t.Errorf("BatchRecordSize = %d, want %d", n, len(want)-1)
	}
	if BatchRecordSize(nil) != 0 || len(AppendBatchRecord(nil, nil)) != 0 {
		t.Error("nil message must encode to nothing")
	}
}

func TestEncodeBatchRoundTrip(t *testing.T) {
	var msgs []*message.Message
	size := 0
	for i := range 40 {
		m := message.New("T", bytes.Repeat([]byte{byte(i)}, i*37))
		m.Flag = int32(i)
		m.SetTags("tag")
		m.SetKeys("k1", "k2")
		m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, cdxUniq)
		if i%3 == 0 {
			m.SetProperty("long", strings.Repeat("v", 1000))
		}
		msgs = append(msgs, m)
		size += BatchRecordSize(m)
	}
	body := EncodeBatch(nil, append(msgs, nil))
	if len(body) != size {
		t.Fatalf("encoded %d bytes, BatchRecordSize sums to %d", len(body), size)
	}
	got, err := DecodeBatch(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d messages, want %d", len(got), len(msgs))
	}
	for i, m := range got {
		if m.Flag != msgs[i].Flag || !bytes.Equal(m.Body, msgs[i].Body) || !reflect.DeepEqual(m.Properties, msgs[i].Properties) {
			t.Errorf("message %d differs: %+v", i, m)
		}
	}
	// Appending keeps what dst held.
	if got := EncodeBatch([]byte("hdr"), msgs[:1]); string(got[:3]) != "hdr" || len(got) != 3+BatchRecordSize(msgs[0]) {
		t.Errorf("EncodeBatch with prefix: %q", got)
	}
	if got, err := DecodeBatch(nil); got != nil || err != nil {
		t.Errorf("empty body: %v %v", got, err)
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good := cdxGoldenBatch(t)
	patch := func(at int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[at:], b)
		return c
	}
	tests := []struct {
		name, field, text string
		in                []byte
	}{
		{"short size", "TOTALSIZE", "codec: batch record 1: TOTALSIZE at byte 37: need 4 bytes, 2 left", good[:39]},
		{"size below minimum", "TOTALSIZE", "codec: batch record 0: TOTALSIZE at byte 0: 21 is smaller than the 22-byte minimum record", patch(0, 0, 0, 0, 21)},
		{"size negative", "TOTALSIZE", "", patch(0, 0x80, 0, 0, 0)},
		{"size beyond input", "TOTALSIZE", "codec: batch record 1: TOTALSIZE at byte 37: 22 exceeds the 21 bytes left", good[:len(good)-1]},
		{"body negative", "BODYLEN", "codec: batch record 0: BODYLEN at byte 16: -1 is negative", patch(16, 0xFF, 0xFF, 0xFF, 0xFF)},
		{"body too long", "BODYLEN", "", patch(16, 0, 0, 0, 16)},
		{"props negative", "PROPLEN", "", patch(23, 0xFF, 0xF0)},
		{"props mismatch", "TOTALSIZE", "codec: batch record 0: TOTALSIZE at byte 0: 37 does not match the 36 bytes its BODYLEN 3 and PROPLEN 11 imply", patch(23, 0, 11)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := DecodeBatch(tc.in)
			var re *RecordError
			if msgs != nil || !errors.As(err, &re) || !errors.Is(err, ErrMalformedRecord) {
				t.Fatalf("got %v, %v; want a *RecordError", msgs, err)
			}
			if re.Field != tc.field {
				t.Errorf("field %q, want %q", re.Field, tc.field)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tc.text)
			}
		})
	}
}

func cdxBatch32(b testing.TB) []*message.Message {
	msgs := make([]*message.Message, 32)
	for i := range msgs {
		m := message.New("BenchmarkTopic", bytes.Repeat([]byte("x"), 1024))
		m.SetTags("TagA")
		m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, cdxUniq)
		m.SetSystemProperty(message.PropertyWaitStoreMsgOK, "true")
		msgs[i] = m
	}
	return msgs
}

func BenchmarkEncodeBatch32x1KiB(b *testing.B) {
	msgs := cdxBatch32(b)
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(32 << 10)
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeBatch(buf[:0], msgs)
	}
}

func BenchmarkDecodeBatch32x1KiB(b *testing.B) {
	body := EncodeBatch(nil, cdxBatch32(b))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(body); err != nil {
			b.Fatal(err)
		}
	}
}
