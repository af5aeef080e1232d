package trace

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/send"
)

// decoded is what Java's TraceDataEncoder.decoderFromTraceDataString makes of one Pub or
// EndTransaction record: this test decoder follows it field by field (including Java's
// String.split, which drops trailing empty fields), so that the fuzz target can check that every
// record the encoder writes reads back whole. The real Java decoder checks the same in
// witness_test.go.
type decoded struct {
	typ                                                        string
	ts                                                         int64
	region, group, topic, msgID, tags, keys, storeHost, offset string
	bodyLen, cost, msgType                                     int
	success                                                    bool
	txID, txState                                              string
	fromCheck                                                  bool
}

func javaSplit(s string, sep byte) []string {
	parts := strings.Split(s, string(sep))
	for len(parts) > 0 && parts[len(parts)-1] == "" { // Java's split(regex) drops trailing empties
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 0 {
		return []string{""}
	}
	return parts
}

func decodeJavaLike(data string) ([]decoded, error) {
	var out []decoded
	if data == "" {
		return nil, nil
	}
	for _, rec := range javaSplit(data, fieldSep) {
		f := javaSplit(rec, contentSep)
		var d decoded
		var err error
		num := func(i int) int64 {
			if err != nil {
				return 0
			}
			if i >= len(f) {
				err = fmt.Errorf("field %d missing in %q", i, rec)
				return 0
			}
			var v int64
			v, err = strconv.ParseInt(f[i], 10, 64)
			return v
		}
		str := func(i int) string {
			if i >= len(f) {
				if err == nil {
					err = fmt.Errorf("field %d missing in %q", i, rec)
				}
				return ""
			}
			return f[i]
		}
		d.typ = f[0]
		switch f[0] {
		case "Pub":
			d.ts, d.region, d.group, d.topic, d.msgID = num(1), str(2), str(3), str(4), str(5)
			d.tags, d.keys, d.storeHost = str(6), str(7), str(8)
			d.bodyLen, d.cost, d.msgType = int(num(9)), int(num(10)), int(num(11))
			if len(f) != 14 {
				return nil, fmt.Errorf("Pub record with %d fields, want 14: %q", len(f), rec)
			}
			d.offset, d.success = f[12], f[13] == "true"
		case "EndTransaction":
			d.ts, d.region, d.group, d.topic, d.msgID = num(1), str(2), str(3), str(4), str(5)
			d.tags, d.keys, d.storeHost = str(6), str(7), str(8)
			d.msgType, d.txID, d.txState = int(num(9)), str(10), str(11)
			d.fromCheck = str(12) == "true"
			if len(f) != 13 {
				return nil, fmt.Errorf("EndTransaction record with %d fields, want 13: %q", len(f), rec)
			}
		default:
			return nil, fmt.Errorf("unknown record type %q", f[0])
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func TestPubRecordIsJavasFormat(t *testing.T) {
	r := record{kind: kindPub, timestampMs: 1700000000123, costMs: 7, bodyLen: 1024, msgType: send.OrderMsg,
		success: true, region: "DefaultRegion", group: "g1", topic: "T", msgID: "AC11000100002A9F0000000000000001",
		offsetMsgID: "7F00000100002A9F0000000000000ABC", tags: "TagA", keys: "k1 k2", storeHost: "127.0.0.1:10911"}
	got := string(r.appendTo(nil))
	want := "Pub\x011700000000123\x01DefaultRegion\x01g1\x01T\x01AC11000100002A9F0000000000000001\x01TagA\x01k1 k2\x01" +
		"127.0.0.1:10911\x011024\x017\x014\x017F00000100002A9F0000000000000ABC\x01true\x02"
	if got != want {
		t.Fatalf("Pub record\n got %q\nwant %q", got, want)
	}
	// No tags, no keys: Java appends its null Strings as "null".
	r.tags, r.keys, r.success = "", "", false
	got = string(r.appendTo(nil))
	if !strings.Contains(got, "\x01null\x01null\x01127.0.0.1:10911") || !strings.HasSuffix(got, "\x01false\x02") {
		t.Fatalf("Pub record without tags and keys: %q", got)
	}
}

func TestEndTransactionRecordIsJavasFormat(t *testing.T) {
	r := record{kind: kindEndTransaction, timestampMs: 42, region: "DefaultRegion", group: "tx", topic: "T",
		msgID: "ID1", tags: "a", storeHost: "127.0.0.1:10911", txID: "TX1", txState: send.RollbackMessage, fromCheck: true}
	got := string(r.appendTo(nil))
	want := "EndTransaction\x0142\x01DefaultRegion\x01tx\x01T\x01ID1\x01a\x01null\x01127.0.0.1:10911\x012\x01TX1\x01ROLLBACK_MESSAGE\x01true\x02"
	if got != want {
		t.Fatalf("EndTransaction record\n got %q\nwant %q", got, want)
	}
}

func TestSeparatorsInsideFieldsDoNotShiftFields(t *testing.T) {
	r := record{kind: kindPub, region: "R", group: "g", topic: "a\x01b\x02c", msgID: "id", offsetMsgID: "o", storeHost: "h", success: true}
	ds, err := decodeJavaLike(string(r.appendTo(nil)))
	if err != nil || len(ds) != 1 || ds[0].topic != "a b c" || !ds[0].success {
		t.Fatalf("decoded %+v, %v", ds, err)
	}
}

// FuzzRecordRoundTrip: whatever the strings, an encoded record reads back as one record with
// the same fields (separators become spaces; "" becomes "null" where Java writes a null).
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add("R", "g", "T", "id", "tag", "k1 k2", "127.0.0.1:10911", "off", int64(1), int64(2), 3, uint8(0), true, false)
	f.Add("", "", "", "", "", "", "", "", int64(-1), int64(0), 0, uint8(1), false, true)
	f.Add("\x01", "\x02", "a\x01\x02b", "ü", "", " ", "x", "y", int64(9e15), int64(5), 1<<20, uint8(1), true, true)
	f.Fuzz(func(t *testing.T, region, group, topic, id, tags, keys, host, off string, ts, cost int64, body int, kindSel uint8, success, fromCheck bool) {
		r := record{kind: kind(kindSel % 2), timestampMs: ts, costMs: cost, bodyLen: body, msgType: send.DelayMsg, success: success,
			fromCheck: fromCheck, txState: send.CommitMessage, region: region, group: group, topic: topic, msgID: id,
			offsetMsgID: off, tags: tags, keys: keys, storeHost: host, txID: "tx"}
		data := string(r.appendTo(nil))
		if strings.Count(data, "\x02") != 1 || !strings.HasSuffix(data, "\x02") {
			t.Fatalf("one record must hold exactly one record separator, at its end: %q", data)
		}
		clean := func(s string) string { return strings.NewReplacer("\x01", " ", "\x02", " ").Replace(s) }
		ds, err := decodeJavaLike(data)
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		if len(ds) != 1 {
			t.Fatalf("decoded %d records from %q", len(ds), data)
		}
		d := ds[0]
		wantTags, wantKeys := clean(tags), clean(keys)
		if tags == "" {
			wantTags = "null"
		}
		if keys == "" {
			wantKeys = "null"
		}
		if d.ts != ts || d.region != clean(region) || d.group != clean(group) || d.topic != clean(topic) || d.msgID != clean(id) ||
			d.tags != wantTags || d.keys != wantKeys || d.storeHost != clean(host) {
			t.Fatalf("round trip of %q: %+v", data, d)
		}
		switch r.kind {
		case kindPub:
			if d.cost != int(cost) || d.bodyLen != body || d.msgType != int(send.DelayMsg) || d.offset != clean(off) || d.success != success {
				t.Fatalf("Pub round trip of %q: %+v", data, d)
			}
		case kindEndTransaction:
			if d.msgType != int(send.TransMsgCommit) || d.txID != "tx" || d.txState != "COMMIT_MESSAGE" || d.fromCheck != fromCheck {
				t.Fatalf("EndTransaction round trip of %q: %+v", data, d)
			}
		}
	})
}
