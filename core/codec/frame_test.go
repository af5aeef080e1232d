package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// helpers (prefixed fr to stay clear of other test files in the package)

// frEncode encodes c and checks the outer layout: the length word counts everything after itself,
// the type byte is st and the header length fits in the frame.
func frEncode(t testing.TB, c *Command, st SerializeType) []byte {
	t.Helper()
	b, err := AppendFrame(nil, c, st)
	if err != nil {
		t.Fatalf("AppendFrame(%v): %v", st, err)
	}
	if len(b) < 8 {
		t.Fatalf("frame of %d bytes", len(b))
	}
	if total := binary.BigEndian.Uint32(b); int(total) != len(b)-4 {
		t.Fatalf("length word %d, frame has %d bytes after it", total, len(b)-4)
	}
	word := binary.BigEndian.Uint32(b[4:])
	if SerializeType(word>>24) != st {
		t.Fatalf("type byte %d, want %d", word>>24, st)
	}
	if hl := int(word & 0xFFFFFF); hl+8+len(c.Body) != len(b) {
		t.Fatalf("header length %d + body %d + 8 != %d", hl, len(c.Body), len(b))
	}
	if !bytes.Equal(b[len(b)-len(c.Body):], c.Body) {
		t.Fatalf("body is not at the end of the frame")
	}
	return b
}

// frDecode decodes a whole frame, length prefix included, after checking the prefix.
func frDecode(b []byte) (*Command, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("frame shorter than its prefix")
	}
	n, err := FrameLength([4]byte(b[:4]), MaxFrameSize)
	if err != nil {
		return nil, err
	}
	if n != len(b)-4 {
		return nil, fmt.Errorf("prefix says %d bytes, have %d", n, len(b)-4)
	}
	return DecodeFrame(b[4:])
}

func frMustDecode(t testing.TB, b []byte) *Command {
	t.Helper()
	c, err := frDecode(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return c
}

// frWire is what a command looks like after a trip over the wire: the typed header is folded into
// Ext (Fields() order, empty values dropped), and Header is nil.
func frWire(c *Command) *Command {
	w := *c
	w.Header = nil
	w.Ext = c.Fields()
	return &w
}

// frDiff compares two commands as the wire sees them: every scalar, the remark, the ext fields in
// order and the body (nil and empty are the same). It returns "" when they are equal.
func frDiff(got, want *Command) string {
	var d []string
	if got.Code != want.Code {
		d = append(d, fmt.Sprintf("code %d != %d", got.Code, want.Code))
	}
	if got.Language != want.Language {
		d = append(d, fmt.Sprintf("language %v != %v", got.Language, want.Language))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("version %d != %d", got.Version, want.Version))
	}
	if got.Opaque != want.Opaque {
		d = append(d, fmt.Sprintf("opaque %d != %d", got.Opaque, want.Opaque))
	}
	if got.Flag != want.Flag {
		d = append(d, fmt.Sprintf("flag %d != %d", got.Flag, want.Flag))
	}
	if got.Remark != want.Remark {
		d = append(d, fmt.Sprintf("remark %q != %q", got.Remark, want.Remark))
	}
	if len(got.Ext) != len(want.Ext) || (len(got.Ext) > 0 && !reflect.DeepEqual(got.Ext, want.Ext)) {
		d = append(d, fmt.Sprintf("ext %q != %q", got.Ext, want.Ext))
	}
	if !bytes.Equal(got.Body, want.Body) {
		d = append(d, fmt.Sprintf("body %q != %q", got.Body, want.Body))
	}
	return strings.Join(d, "; ")
}

// frBinFrame assembles a ROCKETMQ binary frame by hand, independently of the encoder. kv holds
// key/value pairs; they are written as given (empty ones too, duplicates too).
func frBinFrame(code int16, lang byte, version int16, opaque, flag int32, remark string, body []byte, kv ...string) []byte {
	var ext []byte
	for i := 0; i+1 < len(kv); i += 2 {
		ext = binary.BigEndian.AppendUint16(ext, uint16(len(kv[i])))
		ext = append(ext, kv[i]...)
		ext = binary.BigEndian.AppendUint32(ext, uint32(len(kv[i+1])))
		ext = append(ext, kv[i+1]...)
	}
	var h []byte
	h = binary.BigEndian.AppendUint16(h, uint16(code))
	h = append(h, lang)
	h = binary.BigEndian.AppendUint16(h, uint16(version))
	h = binary.BigEndian.AppendUint32(h, uint32(opaque))
	h = binary.BigEndian.AppendUint32(h, uint32(flag))
	h = binary.BigEndian.AppendUint32(h, uint32(len(remark)))
	h = append(h, remark...)
	h = binary.BigEndian.AppendUint32(h, uint32(len(ext)))
	h = append(h, ext...)
	return frWrap(1, h, body)
}

// frWrap puts a header of type st and a body into a frame with its length prefix.
func frWrap(st byte, header, body []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(header)+len(body)))
	b = binary.BigEndian.AppendUint32(b, uint32(st)<<24|uint32(len(header)))
	b = append(b, header...)
	return append(b, body...)
}

func frJSONFrame(header string, body []byte) []byte { return frWrap(0, []byte(header), body) }

func frHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var frSerializeTypes = []SerializeType{SerializeRocketMQ, SerializeJSON}

// ---------------------------------------------------------------------------------------------
// golden vectors from the reference (§1.3, §1.4)

// frGoldenRouteBinaryHex is the GET_ROUTEINFO_BY_TOPIC frame of reference §1.4.
const frGoldenRouteBinaryHex = "0000002d 01000029 0069 09 01df 00000001 00000000 00000000 00000014 0005 746f706963 00000009 54657374546f706963"

// frGoldenSendResponseJSON is the typical broker send response header of reference §1.3, verbatim
// (line breaks included).
const frGoldenSendResponseJSON = `{"code":0,"extFields":{"msgId":"7F00000100002A9F0000000000000000","queueId":"1","queueOffset":"0",
 "transactionId":"...","MSG_REGION":"DefaultRegion","TRACE_ON":"true"},"flag":1,"language":"JAVA",
 "opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}`

// frGoldenRouteRequestJSON is the Go client request of reference §1.3 (161 bytes, prefix
// 000000a5 000000a1).
const frGoldenRouteRequestJSON = `{"code":105,"language":"GO","version":479,"opaque":1,"flag":0,"extFields":{"topic":"TestTopic","acceptStandardJsonOnly":"true"},"serializeTypeCurrentRPC":"JSON"}`

func TestFrameGoldenRouteRequestBinary(t *testing.T) {
	want := frHex(t, frGoldenRouteBinaryHex)
	c := &Command{Code: 105, Language: LanguageGo, Version: 479, Opaque: 1,
		Header: &GetRouteInfoRequestHeader{Topic: "TestTopic"}}
	got := frEncode(t, c, SerializeRocketMQ)
	if !bytes.Equal(got, want) {
		t.Fatalf("binary route request\n got %x\nwant %x", got, want)
	}
	// NewRequest yields the same frame once the opaque is set.
	r := NewRequest(GetRouteInfoByTopic, &GetRouteInfoRequestHeader{Topic: "TestTopic"}, nil)
	r.Opaque = 1
	if got := frEncode(t, r, SerializeRocketMQ); !bytes.Equal(got, want) {
		t.Fatalf("NewRequest frame\n got %x\nwant %x", got, want)
	}
	// Appending after existing bytes writes the same frame there.
	pre := []byte("prefix")
	got2, err := AppendFrame(pre, c, SerializeRocketMQ)
	if err != nil || !bytes.Equal(got2[:6], pre) || !bytes.Equal(got2[6:], want) {
		t.Fatalf("AppendFrame after prefix: %x, %v", got2, err)
	}

	d := frMustDecode(t, want)
	if diff := frDiff(d, &Command{Code: 105, Language: LanguageGo, Version: 479, Opaque: 1,
		Ext: []Field{{"topic", "TestTopic"}}}); diff != "" {
		t.Fatal(diff)
	}
	if d.Header != nil || d.Body != nil || d.IsResponse() || d.IsOneway() {
		t.Fatalf("decoded %+v", d)
	}
	if v, ok := d.ExtValue("topic"); !ok || v != "TestTopic" {
		t.Fatalf("topic = %q, %v", v, ok)
	}
}

func TestFrameGoldenSendResponseJSON(t *testing.T) {
	for _, hdr := range []string{
		frGoldenSendResponseJSON,
		strings.ReplaceAll(strings.ReplaceAll(frGoldenSendResponseJSON, "\n ", ""), `"..."`, `"7F0000011E3C18B4AAC25D6A4D7A0000"`),
	} {
		frame := frJSONFrame(hdr, nil)
		c := frMustDecode(t, frame)
		if c.Code != Success || c.Flag != 1 || !c.IsResponse() || c.IsOneway() || c.Language != LanguageJava ||
			c.Opaque != 7 || c.Version != 479 || c.Remark != "" || c.Body != nil {
			t.Fatalf("decoded %+v", c)
		}
		keys := make([]string, len(c.Ext))
		for i, f := range c.Ext {
			keys[i] = f.Key
		}
		if got := strings.Join(keys, ","); got != "msgId,queueId,queueOffset,transactionId,MSG_REGION,TRACE_ON" {
			t.Fatalf("ext keys in wire order: %s", got)
		}
		h, err := DecodeSendMessageResponseHeader(c)
		if err != nil {
			t.Fatal(err)
		}
		txID, _ := c.ExtValue("transactionId")
		want := SendMessageResponseHeader{MsgID: "7F00000100002A9F0000000000000000", QueueID: 1, QueueOffset: 0,
			TransactionID: txID, RegionID: "DefaultRegion", TraceOn: true}
		if *h != want {
			t.Fatalf("send response header\n got %+v\nwant %+v", *h, want)
		}

		// The same response re-encoded in either format means the same thing.
		for _, st := range frSerializeTypes {
			d := frMustDecode(t, frEncode(t, c, st))
			if diff := frDiff(d, c); diff != "" {
				t.Fatalf("%v re-encode: %s", st, diff)
			}
		}
	}
}

func TestFrameGoldenRouteRequestJSON(t *testing.T) {
	if len(frGoldenRouteRequestJSON) != 0xa1 {
		t.Fatalf("reference example is %d bytes, the reference says 161", len(frGoldenRouteRequestJSON))
	}
	example := frJSONFrame(frGoldenRouteRequestJSON, nil)
	if got := hex.EncodeToString(example[:8]); got != "000000a5000000a1" {
		t.Fatalf("example prefix %s", got)
	}
	want := &Command{Code: 105, Language: LanguageGo, Version: 479, Opaque: 1,
		Ext: []Field{{"topic", "TestTopic"}, {"acceptStandardJsonOnly", "true"}}}
	if diff := frDiff(frMustDecode(t, example), want); diff != "" {
		t.Fatalf("decoding the reference example: %s", diff)
	}

	c := &Command{Code: 105, Language: LanguageGo, Version: 479, Opaque: 1,
		Header: &GetRouteInfoRequestHeader{Topic: "TestTopic", AcceptStandardJSONOnly: true}}
	ours := frEncode(t, c, SerializeJSON)
	// Same members with the same values, fastjson order: same length, so the same prefix.
	if got := hex.EncodeToString(ours[:8]); got != "000000a5000000a1" {
		t.Fatalf("our prefix %s (header %s)", got, ours[8:])
	}
	const alphabetical = `{"code":105,"extFields":{"topic":"TestTopic","acceptStandardJsonOnly":"true"},"flag":0,"language":"GO","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}`
	if string(ours[8:]) != alphabetical {
		t.Fatalf("our header\n got %s\nwant %s", ours[8:], alphabetical)
	}
	if diff := frDiff(frMustDecode(t, ours), want); diff != "" {
		t.Fatalf("decoding ours: %s", diff)
	}
	// Without acceptStandardJsonOnly the field is left out altogether.
	c.Header = &GetRouteInfoRequestHeader{Topic: "TestTopic"}
	if d := frMustDecode(t, frEncode(t, c, SerializeJSON)); len(d.Ext) != 1 {
		t.Fatalf("ext %v", d.Ext)
	}
}

// ---------------------------------------------------------------------------------------------
// round trips

func TestFrameRoundTrip(t *testing.T) {
	sendHdr := &SendMessageRequestHeader{ProducerGroup: "pg", Topic: "T", DefaultTopic: "TBW102",
		DefaultTopicQueueNums: 4, QueueID: 3, SysFlag: 0, BornTimestamp: 1700000000123, Flag: 0,
		Properties: "UNIQ_KEY\x01AC11000100002A9F0000000000000001\x02WAIT\x01true\x02TAGS\x01tagA\x02"}
	body := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 50)
	cases := []struct {
		name string
		c    *Command
	}{
		{"empty", &Command{}},
		{"request", &Command{Code: 310, Language: LanguageGo, Version: 479, Opaque: 42,
			Header: (*SendMessageRequestHeaderV2)(sendHdr), Body: body}},
		{"request v1", &Command{Code: 10, Language: LanguageGo, Version: 479, Opaque: 43, Header: sendHdr, Body: []byte("hello")}},
		{"response with remark", &Command{Code: SystemBusy, Language: LanguageJava, Version: 479, Opaque: 7,
			Flag: FlagResponse, Remark: "[REJECTREQUEST]system busy, start flow control for a while"}},
		{"unicode remark", &Command{Code: 1, Flag: FlagResponse, Remark: "错误: \"quoted\" \\ back\nslash\ttab 😀 \x00\x1f\x7f"}},
		{"control chars in ext", &Command{Code: 310, Ext: []Field{
			{"i", "KEYS\x01k1 k2\x02TAGS\x01t\x02"}, {"π", "ünïcödé 😀"}, {"ctl", "\x00\x01\x02\x1f\"\\/"}}}},
		{"header and ext", &Command{Code: 105, Header: &GetRouteInfoRequestHeader{Topic: "TestTopic"},
			Ext: []Field{{"AccessKey", "ak"}, {"Signature", "c2ln/+=="}}}},
		{"duplicate keys", &Command{Code: 11, Ext: []Field{{"k", "1"}, {"k", "2"}}}},
		{"oneway", &Command{Code: EndTransaction, Flag: FlagOneway, Opaque: 9, Header: &EndTransactionRequestHeader{
			ProducerGroup: "pg", TranStateTableOffset: 5, CommitLogOffset: 6, CommitOrRollback: 8, MsgID: "m"}}},
		{"negative opaque", &Command{Code: 105, Opaque: math.MinInt32, Version: -1, Flag: -1}},
		{"max opaque", &Command{Code: math.MaxInt16, Opaque: math.MaxInt32, Version: math.MaxInt16}},
		{"negative code", &Command{Code: -1006, Flag: FlagResponse}},
		{"language unknown", &Command{Code: 1, Language: 200}},
		{"body only", &Command{Code: HeartBeat, Body: EncodeHeartbeatData(&HeartbeatData{ClientID: "c", ProducerGroups: []string{"g"}})}},
	}
	for _, tc := range cases {
		for _, st := range frSerializeTypes {
			t.Run(tc.name+"/"+st.String(), func(t *testing.T) {
				b := frEncode(t, tc.c, st)
				d := frMustDecode(t, b)
				if diff := frDiff(d, frWire(tc.c)); diff != "" {
					t.Fatalf("round trip: %s\nframe %q", diff, b)
				}
				if d.IsResponse() != tc.c.IsResponse() || d.IsOneway() != tc.c.IsOneway() {
					t.Fatal("flag bits changed")
				}
				// Encoding is deterministic, and the decoded command encodes to the same bytes.
				if b2 := frEncode(t, d, st); !bytes.Equal(b, b2) {
					t.Fatalf("re-encode differs\n%q\n%q", b, b2)
				}
			})
		}
	}
}

func TestFrameBodyAliases(t *testing.T) {
	b := frEncode(t, &Command{Code: 1, Body: []byte("abc")}, SerializeRocketMQ)
	c := frMustDecode(t, b)
	b[len(b)-1] = 'X'
	if string(c.Body) != "abX" {
		t.Fatalf("body %q does not alias the frame", c.Body)
	}
}

func TestFrameCodeRange(t *testing.T) {
	for _, code := range []int32{200050, math.MaxInt16 + 1, math.MinInt16 - 1, math.MaxInt32, math.MinInt32} {
		c := &Command{Code: code, Opaque: 1}
		prefix := []byte("keep")
		b, err := AppendFrame(prefix, c, SerializeRocketMQ)
		if err == nil {
			t.Fatalf("code %d accepted by the binary encoder", code)
		}
		if string(b) != "keep" {
			t.Fatalf("failed encode left %q", b)
		}
		d := frMustDecode(t, frEncode(t, c, SerializeJSON))
		if d.Code != code {
			t.Fatalf("JSON code %d decoded as %d", code, d.Code)
		}
	}
	for _, code := range []int32{math.MaxInt16, math.MinInt16, -1000, 0} {
		if d := frMustDecode(t, frEncode(t, &Command{Code: code}, SerializeRocketMQ)); d.Code != code {
			t.Fatalf("binary code %d decoded as %d", code, d.Code)
		}
	}
}

func TestFrameEncodeErrors(t *testing.T) {
	if _, err := AppendFrame(nil, &Command{}, SerializeType(2)); err == nil {
		t.Fatal("unknown serialize type accepted")
	}
	if SerializeType(2).String() != "SerializeType(2)" || SerializeJSON.String() != "JSON" || SerializeRocketMQ.String() != "ROCKETMQ" {
		t.Fatal("SerializeType.String")
	}
	big := make([]byte, MaxFrameSize)
	for _, st := range frSerializeTypes {
		dst := []byte("x")
		b, err := AppendFrame(dst, &Command{Code: 310, Body: big}, st)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("%v: 16 MiB body: %v", st, err)
		}
		if string(b) != "x" {
			t.Fatalf("failed encode left %d bytes", len(b))
		}
		// The largest body that fits gives a frame of exactly MaxFrameSize.
		c := &Command{Code: 310}
		hl := len(frEncode(t, c, st)) - 8
		c.Body = big[:MaxFrameSize-8-hl]
		b = frEncode(t, c, st)
		if len(b) != MaxFrameSize {
			t.Fatalf("%v: frame %d bytes", st, len(b))
		}
		if _, err := FrameLength([4]byte(b[:4]), MaxFrameSize); err != nil {
			t.Fatalf("%v: largest frame rejected by FrameLength: %v", st, err)
		}
		// A header that does not fit the 24-bit length is too large as well.
		_, err = AppendFrame(nil, &Command{Code: 310, Ext: []Field{{"k", strings.Repeat("a", 1<<24)}}}, st)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("%v: 16 MiB header: %v", st, err)
		}
	}
}

// TestFrameBinaryLongKey: a key longer than a Java short cannot be written in the binary header;
// the encoder must refuse rather than write a length that wraps.
func TestFrameBinaryLongKey(t *testing.T) {
	long := strings.Repeat("k", math.MaxInt16+1)
	c := &Command{Code: 1, Ext: []Field{{long, "v"}}}
	if _, err := AppendFrame(nil, c, SerializeRocketMQ); err == nil {
		t.Fatal("binary encoder accepted a 32768-byte key")
	}
	d := frMustDecode(t, frEncode(t, c, SerializeJSON))
	if v, _ := d.ExtValue(long); v != "v" {
		t.Fatal("JSON long key lost")
	}
	c.Ext[0].Key = long[:math.MaxInt16]
	if d := frMustDecode(t, frEncode(t, c, SerializeRocketMQ)); frDiff(d, c) != "" {
		t.Fatal("binary 32767-byte key did not round trip")
	}
}

// ---------------------------------------------------------------------------------------------
// decoder quirks

func TestFrameDuplicateKeysLastWins(t *testing.T) {
	// Java 5.x writes FastCodesHeader fields and then the extFields map into the same area.
	b := frBinFrame(0, 0, 479, 7, 1, "", nil,
		"msgId", "A", "queueId", "1", "queueOffset", "5", "msgId", "B", "queueId", "2")
	c := frMustDecode(t, b)
	if len(c.Ext) != 5 {
		t.Fatalf("ext %q", c.Ext)
	}
	if v, _ := c.ExtValue("msgId"); v != "B" {
		t.Fatalf("msgId = %q", v)
	}
	h, err := DecodeSendMessageResponseHeader(c)
	if err != nil || h.MsgID != "B" || h.QueueID != 2 || h.QueueOffset != 5 {
		t.Fatalf("%+v %v", h, err)
	}
	j := frMustDecode(t, frJSONFrame(`{"code":0,"extFields":{"msgId":"A","msgId":"B"},"flag":1}`, nil))
	if v, _ := j.ExtValue("msgId"); v != "B" || len(j.Ext) != 2 {
		t.Fatalf("JSON duplicates: %q", j.Ext)
	}

	// On a command being sent, Ext is written after the header, so it wins too.
	s := &Command{Code: 105, Header: &GetRouteInfoRequestHeader{Topic: "A"}}
	s.SetExt("topic", "B")
	if v, _ := s.ExtValue("topic"); v != "B" {
		t.Fatalf("ExtValue on outgoing command = %q", v)
	}
	if v, ok := s.ExtValue("nope"); ok || v != "" {
		t.Fatal("ExtValue of a missing key")
	}
	for _, st := range frSerializeTypes {
		if v, _ := frMustDecode(t, frEncode(t, s, st)).ExtValue("topic"); v != "B" {
			t.Fatalf("%v: topic after decode = %q", st, v)
		}
	}
}

func TestFrameSetExt(t *testing.T) {
	var c Command
	c.SetExt("a", "1")
	c.SetExt("b", "2")
	c.SetExt("a", "3")
	if !reflect.DeepEqual(c.Ext, []Field{{"a", "3"}, {"b", "2"}}) {
		t.Fatalf("%q", c.Ext)
	}
}

func TestFrameBinaryEmptyStringsSkipped(t *testing.T) {
	b := frBinFrame(0, 0, 479, 1, 1, "", nil,
		"", "orphan-value", "emptyValue", "", "k", "v", "", "")
	c := frMustDecode(t, b)
	if !reflect.DeepEqual(c.Ext, []Field{{"k", "v"}}) {
		t.Fatalf("ext %q", c.Ext)
	}
	if _, ok := c.ExtValue("emptyValue"); ok {
		t.Fatal("empty value should read as absent, as in Java")
	}
	// Empty strings are never written either, in any mode.
	s := &Command{Code: 1, Ext: []Field{{"", "x"}, {"e", ""}, {"k", "v"}},
		Header: Fields{{"", "y"}, {"f", ""}, {"h", "1"}}}
	want := []Field{{"h", "1"}, {"k", "v"}}
	if got := s.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields %q", got)
	}
	for _, st := range frSerializeTypes {
		if d := frMustDecode(t, frEncode(t, s, st)); !reflect.DeepEqual(d.Ext, want) {
			t.Fatalf("%v: ext %q", st, d.Ext)
		}
	}
}

func TestFrameBinaryRemarkAndBody(t *testing.T) {
	b := frBinFrame(17, 0, 479, -5, 1, "No topic route info in name server for the topic: T", []byte("body"),
		"k", "v")
	c := frMustDecode(t, b)
	want := &Command{Code: 17, Language: LanguageJava, Version: 479, Opaque: -5, Flag: 1,
		Remark: "No topic route info in name server for the topic: T", Ext: []Field{{"k", "v"}}, Body: []byte("body")}
	if d := frDiff(c, want); d != "" {
		t.Fatal(d)
	}
	// Bytes after the ext map but inside the header are ignored, as Java does.
	h := frBinFrame(0, 0, 1, 1, 1, "", nil, "k", "v")[8:]
	c = frMustDecode(t, frWrap(1, append(h, 0xde, 0xad), []byte("B")))
	if !reflect.DeepEqual(c.Ext, []Field{{"k", "v"}}) || string(c.Body) != "B" {
		t.Fatalf("%+v", c)
	}
}

func TestFrameJSONQuirks(t *testing.T) {
	cases := []struct {
		name, header string
		want         *Command
	}{
		{"unquoted numeric keys", `{"code":0,"extFields":{0:"zero",12:'twelve'},"flag":1}`,
			&Command{Flag: 1, Ext: []Field{{"0", "zero"}, {"12", "twelve"}}}},
		{"unquoted name keys", `{code:1,extFields:{topic:"T"},language:"GO"}`,
			&Command{Code: 1, Language: LanguageGo, Ext: []Field{{"topic", "T"}}}},
		{"single quotes", `{'code':'105','extFields':{'topic':'Test"Topic','q':'it\'s'},'language':'CPP','remark':'r'}`,
			&Command{Code: 105, Language: LanguageCPP, Remark: "r", Ext: []Field{{"topic", `Test"Topic`}, {"q", "it's"}}}},
		{"escapes", `{"code":1,"remark":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00","extFields":{"\u006b":"\u0001\u0002"}}`,
			&Command{Code: 1, Remark: "a\"b\\c/d\b\f\n\r\té中😀", Ext: []Field{{"k", "\x01\x02"}}}},
		{"lone surrogates", `{"code":1,"remark":"\ud83d x \ude00 \ud83d\u0041 \udc00\ud83d\ude00"}`,
			&Command{Code: 1, Remark: "\uFFFD x \uFFFD \uFFFDA \uFFFD😀"}},
		{"extFields null", `{"code":3,"extFields":null,"flag":1,"remark":"request type 999 not supported"}`,
			&Command{Code: 3, Flag: 1, Remark: "request type 999 not supported"}},
		{"extFields missing", `{"code":0,"flag":1,"language":"JAVA","opaque":99,"version":479}`,
			&Command{Flag: 1, Opaque: 99, Version: 479}},
		{"extFields empty", `{"code":0,"extFields":{},"flag":1}`, &Command{Flag: 1}},
		{"language as number", `{"code":0,"language":9}`, &Command{Language: LanguageGo}},
		{"language as quoted number", `{"code":0,"language":"12"}`, &Command{Language: LanguageRust}},
		{"language unknown name", `{"code":0,"language":"COBOL"}`, &Command{Language: LanguageOther}},
		{"language every name", `{"language":"NODE_JS"}`, &Command{Language: LanguageNodeJS}},
		{"numbers as strings", `{"code":"17","opaque":"-3","flag":"1","version":"479"}`,
			&Command{Code: 17, Opaque: -3, Flag: 1, Version: 479}},
		{"non-string ext values", `{"extFields":{"n":5,"b":true,"f":1.5,"z":null,"e":""}}`,
			&Command{Ext: []Field{{"n", "5"}, {"b", "true"}, {"f", "1.5"}}}},
		{"empty ext key dropped", `{"extFields":{"":"v","k":"v"}}`, &Command{Ext: []Field{{"k", "v"}}}},
		{"unknown members", `{"code":0,"serializeTypeCurrentRPC":"JSON","x":{"y":[1,{"z":null}]},"w":[],"v":false,"flag":1}`,
			&Command{Flag: 1}},
		{"whitespace and trailing comma", " \n\t{ \"code\" : 1 , \"extFields\" : { \"k\" : \"v\" , } , } \r\n",
			&Command{Code: 1, Ext: []Field{{"k", "v"}}}},
		{"remark null", `{"code":1,"remark":null}`, &Command{Code: 1}},
		{"raw control characters in strings", "{\"remark\":\"a\x01b\tc\"}", &Command{Remark: "a\x01b\tc"}},
		{"object keys", `{"extFields":{{"brokerName":"a"}:"x"}}`, &Command{Ext: []Field{{`{"brokerName":"a"}`, "x"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := frDecode(frJSONFrame(tc.header, nil))
			if err != nil {
				t.Fatal(err)
			}
			if d := frDiff(c, tc.want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestFrameJSONEncoding(t *testing.T) {
	c := &Command{Code: 1, Language: LanguageGo, Version: 479, Opaque: 2, Flag: 3, Remark: "r\x01\"",
		Ext: []Field{{"k\n", "v\x02é"}}}
	b := frEncode(t, c, SerializeJSON)
	const want = `{"code":1,"extFields":{"k\n":"v\u0002é"},"flag":3,"language":"GO","opaque":2,"remark":"r\u0001\"","serializeTypeCurrentRPC":"JSON","version":479}`
	if string(b[8:]) != want {
		t.Fatalf("\n got %s\nwant %s", b[8:], want)
	}
	// An unknown language code is written as its number (fastjson maps ordinals), not as a name
	// nobody can parse.
	b = frEncode(t, &Command{Language: 200}, SerializeJSON)
	if !bytes.Contains(b, []byte(`"language":200`)) {
		t.Fatalf("%s", b[8:])
	}
	if LanguageGo.String() != "GO" || LanguageCode(200).String() != "LanguageCode(200)" {
		t.Fatal("LanguageCode.String")
	}
}

// ---------------------------------------------------------------------------------------------
// lengths and malformed input

func TestFrameLength(t *testing.T) {
	p := func(n uint32) [4]byte {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], n)
		return b
	}
	for _, tc := range []struct {
		n, max uint32
		ok     bool
	}{
		{0, MaxFrameSize, false},
		{3, MaxFrameSize, false},
		{4, MaxFrameSize, true},
		{45, MaxFrameSize, true},
		{MaxFrameSize - 4, MaxFrameSize, true},
		{MaxFrameSize - 3, MaxFrameSize, false},
		{MaxFrameSize, MaxFrameSize, false},
		{0x7FFFFFFF, MaxFrameSize, false},
		{0x80000000, MaxFrameSize, false},
		{0xFFFFFFFF, MaxFrameSize, false},
		{100, 104, true},
		{101, 104, false},
		{4, 7, false},
	} {
		n, err := FrameLength(p(tc.n), int(tc.max))
		if tc.ok {
			if err != nil || n != int(tc.n) {
				t.Errorf("FrameLength(%d, %d) = %d, %v", tc.n, tc.max, n, err)
			}
		} else if !errors.Is(err, ErrMalformed) || n != 0 {
			t.Errorf("FrameLength(%d, %d) = %d, %v; want ErrMalformed", tc.n, tc.max, n, err)
		}
	}
}

func TestFrameDecodeTruncated(t *testing.T) {
	frames := [][]byte{
		frHex(t, frGoldenRouteBinaryHex),
		frJSONFrame(frGoldenRouteRequestJSON, nil),
		frJSONFrame(frGoldenSendResponseJSON, nil),
		frBinFrame(0, 0, 479, 7, 1, "remark", nil, "msgId", "A", "queueId", "1"),
	}
	for _, f := range frames {
		payload := f[4:]
		if _, err := DecodeFrame(payload); err != nil {
			t.Fatalf("whole frame: %v", err)
		}
		// With no body, every truncation cuts the header and must fail cleanly.
		for n := 0; n < len(payload); n++ {
			if c, err := DecodeFrame(payload[:n]); !errors.Is(err, ErrMalformed) || c != nil {
				t.Fatalf("truncated to %d of %d: %v, %v", n, len(payload), c, err)
			}
		}
		// A header that claims fewer bytes than it has is also broken (or, for JSON, trailing
		// data is a body) — either way no panic and an error wrapping ErrMalformed if any.
		for cut := 1; cut < len(payload)-4; cut++ {
			bad := append([]byte(nil), payload...)
			binary.BigEndian.PutUint32(bad, uint32(bad[0])<<24|uint32(len(payload)-4-cut))
			if _, err := DecodeFrame(bad); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("short header length: %v", err)
			}
		}
	}
}

func TestFrameDecodeGarbage(t *testing.T) {
	bin := func(mut func(h []byte) []byte) []byte {
		h := frBinFrame(0, 0, 479, 7, 1, "rm", nil, "key", "value")[8:]
		h = mut(append([]byte(nil), h...))
		return frWrap(1, h, nil)[4:]
	}
	cases := map[string][]byte{
		"empty":                {},
		"three bytes":          {1, 0, 0},
		"unknown type":         {2, 0, 0, 0},
		"type 0xff":            {0xff, 0, 0, 2, '{', '}'},
		"header past end":      {1, 0, 0, 30, 0, 0},
		"json empty header":    {0, 0, 0, 0},
		"binary empty header":  {1, 0, 0, 0, 'b', 'o', 'd', 'y'},
		"binary short fixed":   {1, 0, 0, 5, 0, 0, 0, 0, 0},
		"json garbage":         frJSONFrame("not json", nil)[4:],
		"json array":           frJSONFrame("[1,2]", nil)[4:],
		"json unterminated":    frJSONFrame(`{"code":1`, nil)[4:],
		"json bad string":      frJSONFrame(`{"remark":"abc`, nil)[4:],
		"json bad escape":      frJSONFrame(`{"remark":"\x"}`, nil)[4:],
		"json bad unicode":     frJSONFrame(`{"remark":"\u12"}`, nil)[4:],
		"json bad code":        frJSONFrame(`{"code":"abc"}`, nil)[4:],
		"json float code":      frJSONFrame(`{"code":1.5}`, nil)[4:],
		"json code overflow":   frJSONFrame(`{"code":4294967297}`, nil)[4:],
		"json opaque overflow": frJSONFrame(`{"opaque":2147483648}`, nil)[4:],
		"json flag underflow":  frJSONFrame(`{"flag":-2147483649}`, nil)[4:],
		"json ext not object":  frJSONFrame(`{"extFields":[1]}`, nil)[4:],
		"json ext nul":         frJSONFrame(`{"extFields":nul}`, nil)[4:],
		"json ext nested":      frJSONFrame(`{"extFields":{"a":{"b":"c"}}}`, nil)[4:],
		"json trailing data":   frJSONFrame(`{"code":1}x`, nil)[4:],
		"json two objects":     frJSONFrame(`{}{}`, nil)[4:],
		"json nul byte":        frJSONFrame("{}\x00", nil)[4:],
		"json missing colon":   frJSONFrame(`{"code" 1}`, nil)[4:],
		"json missing comma":   frJSONFrame(`{"code":1 "flag":2}`, nil)[4:],
		"json empty key":       frJSONFrame(`{:1}`, nil)[4:],
		"json deep nesting":    frJSONFrame(`{"x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`, nil)[4:],
		"json deep objects":    frJSONFrame(strings.Repeat(`{"a":`, 1000)+"1"+strings.Repeat("}", 1000), nil)[4:],
		"binary remark too long": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[13:], 1000)
			return h
		}),
		"binary remark negative": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[13:], 0xFFFFFFFF)
			return h
		}),
		"binary no ext length": bin(func(h []byte) []byte { return h[:17+2+2] }),
		"binary ext too long": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], uint32(len(h)))
			return h
		}),
		"binary ext negative": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], 0x80000000)
			return h
		}),
		"binary key length negative": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint16(h[23:], 0x8000)
			return h
		}),
		"binary key length too long": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint16(h[23:], 100)
			return h
		}),
		"binary value length negative": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[28:], 0xFFFFFFFF)
			return h
		}),
		"binary value length too long": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[28:], 6)
			return h
		}),
		"binary ext cut in key length": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], binary.BigEndian.Uint32(h[19:])+1)
			return append(h, 0)
		}),
		"binary ext cut in value length": bin(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], binary.BigEndian.Uint32(h[19:])+5)
			return append(h, 0, 1, 'x', 0, 0)
		}),
	}
	for name, b := range cases {
		c, err := DecodeFrame(b)
		if !errors.Is(err, ErrMalformed) || c != nil {
			t.Errorf("%s: got %+v, %v; want an error wrapping ErrMalformed", name, c, err)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Fields (collect mode) against the binary encoder

func TestFrameFieldsMatchBinaryEncoder(t *testing.T) {
	headers := frAllHeaders()
	for name, h := range headers {
		c := &Command{Code: 310, Header: h, Ext: []Field{{"AccessKey", "ak"}, {"Signature", "sig"}, {"", "x"}}}
		fields := c.Fields()
		for _, st := range frSerializeTypes {
			d := frMustDecode(t, frEncode(t, c, st))
			if !reflect.DeepEqual(d.Ext, fields) {
				t.Errorf("%s/%v:\n wire   %q\n Fields %q", name, st, d.Ext, fields)
			}
			for _, f := range fields {
				if v, ok := c.ExtValue(f.Key); !ok || v != f.Value {
					// Only a key repeated between header and Ext may differ, and none does here.
					t.Errorf("%s: ExtValue(%q) = %q, %v", name, f.Key, v, ok)
				}
			}
		}
	}
	if (&Command{}).Fields() != nil {
		t.Fatal("Fields of an empty command should be nil")
	}
}

func TestFrameNewResponse(t *testing.T) {
	req := NewRequest(SendMessageV2, nil, []byte("b"))
	req.Opaque = 77
	if req.Language != LanguageGo || req.Version != DefaultVersion || req.Flag != 0 || string(req.Body) != "b" {
		t.Fatalf("%+v", req)
	}
	resp := NewResponse(req, SystemError, "boom")
	if !resp.IsResponse() || resp.IsOneway() || resp.Opaque != 77 || resp.Code != SystemError || resp.Remark != "boom" {
		t.Fatalf("%+v", resp)
	}
	ow := &Command{Flag: FlagOneway}
	if !ow.IsOneway() || ow.IsResponse() {
		t.Fatal("oneway flag")
	}
}

func TestFrameResponseCodeNames(t *testing.T) {
	for code, name := range map[int32]string{0: "SUCCESS", 1: "SYSTEM_ERROR", 2: "SYSTEM_BUSY", 10: "FLUSH_DISK_TIMEOUT",
		11: "SLAVE_NOT_AVAILABLE", 12: "FLUSH_SLAVE_TIMEOUT", 13: "MESSAGE_ILLEGAL", 14: "SERVICE_NOT_AVAILABLE",
		16: "NO_PERMISSION", 17: "TOPIC_NOT_EXIST", 22: "QUERY_NOT_FOUND", 29: "INVALID_PARAMETER",
		204: "NO_BUYER_ID", 205: "NOT_IN_CURRENT_UNIT", 604: "ILLEGAL_OPERATION", 1500: "GO_AWAY", 12345: ""} {
		if got := ResponseCodeName(code); got != name {
			t.Errorf("ResponseCodeName(%d) = %q, want %q", code, got, name)
		}
	}
	// Request codes of reference §2.1.
	for got, want := range map[int32]int32{SendMessage: 10, PullMessage: 11, QueryMessage: 12, UpdateAndCreateTopic: 17,
		SearchOffsetByTimestamp: 29, GetMaxOffset: 30, GetMinOffset: 31, GetEarliestMsgStoreTime: 32,
		ViewMessageByID: 33, HeartBeat: 34, UnregisterClient: 35, EndTransaction: 37, CheckTransactionState: 39,
		NotifyConsumerIDsChanged: 40, GetRouteInfoByTopic: 105, GetBrokerClusterInfo: 106, SendMessageV2: 310,
		SendBatchMessage: 320, SendReplyMessage: 324, SendReplyMessageV2: 325, PushReplyMessageToClient: 326,
		RecallMessage: 370, ResetConsumerClientOffset: 220, GetConsumerStatusFromClient: 221,
		GetConsumerRunningInfo: 307, ConsumeMessageDirectly: 309} {
		if got != want {
			t.Errorf("request code %d, want %d", got, want)
		}
	}
	for i, name := range []string{"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP",
		"GO", "PHP", "OMS", "RUST", "NODE_JS"} {
		if LanguageCode(i).String() != name {
			t.Errorf("LanguageCode(%d) = %s, want %s", i, LanguageCode(i), name)
		}
	}
}

// frCustomHeader is a HeaderEncoder from outside the package's own set (as an RPC hook or a
// plugin might supply); it takes the dynamic path.
type frCustomHeader struct{ a, b string }

func (h frCustomHeader) EncodeExt(w *ExtWriter) {
	w.String("a", h.a)
	w.Int("n", 42)
	w.Bool("t", true)
	w.String("b", h.b)
}

func TestFrameCustomHeaderEncoder(t *testing.T) {
	c := &Command{Code: 1, Header: frCustomHeader{"x", "y"}, Ext: []Field{{"z", "1"}}}
	want := frKV("a", "x", "n", "42", "t", "true", "b", "y", "z", "1")
	if got := c.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields %q", got)
	}
	for _, st := range frSerializeTypes {
		if d := frMustDecode(t, frEncode(t, c, st)); !reflect.DeepEqual(d.Ext, want) {
			t.Fatalf("%v: %q", st, d.Ext)
		}
	}
	if v, ok := c.ExtValue("n"); !ok || v != "42" {
		t.Fatalf("ExtValue = %q, %v", v, ok)
	}
}

// TestFrameEncodeAllocs pins the design target: encoding a send into a reused buffer does not
// allocate.
func TestFrameEncodeAllocs(t *testing.T) {
	for _, st := range frSerializeTypes {
		c := frBenchSendV2()
		dst, err := AppendFrame(nil, c, st)
		if err != nil {
			t.Fatal(err)
		}
		for name, h := range map[string]HeaderEncoder{"V2": c.Header, "V1": frSendHeader(),
			"route": &GetRouteInfoRequestHeader{Topic: "T"}, "end tx": &EndTransactionRequestHeader{MsgID: "m"}} {
			c.Header = h
			c.Ext = []Field{{"AccessKey", "ak"}}
			dst, _ = AppendFrame(dst[:0], c, st)
			allocs := testing.AllocsPerRun(100, func() {
				dst, err = AppendFrame(dst[:0], c, st)
			})
			if err != nil || allocs != 0 {
				t.Errorf("%v %s: %v allocations per encode, %v", st, name, allocs, err)
			}
		}
	}
}

// TestFrameDecodedStringsDoNotAlias: transports reuse their read buffers, so everything but the
// body must be copied out of the frame.
func TestFrameDecodedStringsDoNotAlias(t *testing.T) {
	for _, st := range frSerializeTypes {
		c := &Command{Code: 1, Remark: "remark", Ext: frKV("key", "value", "k2", "v\x01escaped")}
		b := frEncode(t, c, st)
		d := frMustDecode(t, b)
		for i := range b {
			b[i] = 'X'
		}
		if diff := frDiff(d, c); diff != "" {
			t.Fatalf("%v: %s", st, diff)
		}
	}
}
