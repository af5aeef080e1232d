package hookv1

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func fullView() *MessageView {
	return &MessageView{
		Topic: "ns%orders", Tags: "paid", Keys: "o-42 o-43",
		Properties: []Property{{"KEYS", "o-42 o-43"}, {"TAGS", "paid"}, {"empty", ""}, {"region", "eu-west-1"}},
		BodySize:   4 << 20, Flag: -7, Group: "pg", Namespace: "ns",
		Mode: ModeAsync, MessageType: MessageTypeOrder, Attempt: 3,
		HasQueue: true, Queue: QueueRef{"broker-a", 0},
		BrokerAddr: "10.0.0.1:10911", BornHost: "10.0.0.9:0",
		Queues:     []QueueRef{{"broker-a", 0}, {"broker-a", 1}, {"broker-b", -2}, {"", 3}},
		QueueCount: 4, SelectArg: []byte{}, Batch: true,
		Status: StatusFlushSlaveTimeout, MsgID: "7F000001", OffsetMsgID: "0A000001",
		QueueOffset: -9, LatencyNs: 1234567, Error: "boom",
	}
}

// readView reads every field of a View back into a MessageView.
func readView(t testing.TB, v *View) *MessageView {
	m := &MessageView{
		Topic: string(v.Topic()), Tags: string(v.Tags()), Keys: string(v.Keys()),
		BodySize: v.BodySize(), Flag: v.Flag(), Group: string(v.Group()), Namespace: string(v.Namespace()),
		Mode: v.Mode(), MessageType: v.MessageType(), Attempt: v.Attempt(),
		BrokerAddr: string(v.BrokerAddr()), BornHost: string(v.BornHost()), QueueCount: v.QueueCount(),
		Status: v.Status(), MsgID: string(v.MsgID()), OffsetMsgID: string(v.OffsetMsgID()),
		QueueOffset: v.QueueOffset(), LatencyNs: v.LatencyNs(), Error: string(v.Error()),
	}
	v.EachProperty(func(n, val []byte) bool {
		m.Properties = append(m.Properties, Property{string(n), string(val)})
		return true
	})
	if len(m.Properties) != v.PropertyCount() {
		t.Errorf("PropertyCount %d, iterated %d", v.PropertyCount(), len(m.Properties))
	}
	if v.HasQueue() {
		b, id := v.Queue()
		m.HasQueue, m.Queue = true, QueueRef{string(b), id}
	}
	it := v.Queues()
	for i := 0; ; i++ {
		idx, b, id, ok := it.Next()
		if !ok {
			break
		}
		if idx != i {
			t.Errorf("queue index %d, want %d", idx, i)
		}
		m.Queues = append(m.Queues, QueueRef{string(b), id})
	}
	if a, ok := v.SelectArg(); ok {
		m.SelectArg = append([]byte{}, a...)
	}
	if v.Batch() {
		m.Batch = true
	}
	return m
}

func TestViewRoundTrip(t *testing.T) {
	for _, in := range []*MessageView{fullView(), {}, {Topic: "t", SelectArg: []byte("key-1")}} {
		b := AppendMessageView(nil, in)
		var v View
		v.Reset(b)
		if err := v.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := readView(t, &v); !reflect.DeepEqual(got, in) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
		}
	}
}

func TestViewProperty(t *testing.T) {
	var v View
	v.Reset(AppendMessageView(nil, fullView()))
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		ok         bool
	}{{"region", "eu-west-1", true}, {"TAGS", "paid", true}, {"empty", "", true}, {"nope", "", false}, {"", "", false}} {
		got, ok := v.Property(c.name)
		if ok != c.ok || string(got) != c.want {
			t.Errorf("Property(%q) = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	n := 0
	v.EachProperty(func(_, _ []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("EachProperty did not stop: %d", n)
	}
}

// TestViewGolden checks the encoding against bytes written by hand from the protobuf spec.
func TestViewGolden(t *testing.T) {
	v := &MessageView{
		Topic:      "T",
		Properties: []Property{{"k", "v"}},
		BodySize:   300,
		Flag:       -1,
		Attempt:    1,
		HasQueue:   true,
		Queue:      QueueRef{"b", 2},
		Status:     StatusOK,
	}
	want := []byte{
		0x0a, 0x01, 'T', // 1: topic, LEN (1<<3|2), length 1
		0x22, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v', // 4: properties, LEN 6 {1: "k", 2: "v"}
		0x28, 0xac, 0x02, // 5: body_size, VARINT (5<<3|0), 300 = 0b10_0101100
		0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // 6: flag -1, sign-extended
		0x58, 0x01, // 11: attempt (11<<3 = 0x58), 1
		0x62, 0x05, 0x0a, 0x01, 'b', 0x10, 0x02, // 12: queue, LEN 5 {1: "b", 2: 2}
		0xa0, 0x01, 0x01, // 20: status (20<<3 = 160 = varint a0 01), SEND_STATUS_OK
	}
	if got := AppendMessageView(nil, v); !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

func TestDecisionGolden(t *testing.T) {
	var d DecisionBuilder
	d.Forbid("no")
	d.SelectQueue(-1)
	want := []byte{
		0x08, 0x01, // 1: verdict FORBID
		0x12, 0x02, 'n', 'o', // 2: reason
		0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // 8: queue_index -1
	}
	if !bytes.Equal(d.Bytes(), want) {
		t.Fatalf("got  % x\nwant % x", d.Bytes(), want)
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	var d DecisionBuilder
	if !d.Empty() {
		t.Fatal("zero builder not empty")
	}
	d.Forbid("quota exceeded")
	d.SetProperty("trace", "t-1")
	d.DeleteProperty("secret")
	d.SetProperty("empty", "")
	d.SetTags("")
	d.SetKeys("k1 k2")
	d.ReplaceBody([]byte("new body"))
	d.SelectQueue(5)
	got, err := DecodeDecision(d.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		Verdict: Forbid, Reason: "quota exceeded",
		Edits:   []PropertyEdit{{"trace", "t-1", false}, {"secret", "", true}, {"empty", "", false}},
		HasTags: true, Tags: "", HasKeys: true, Keys: "k1 k2",
		ReplaceBody: true, Body: []byte("new body"), QueueIndex: 5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got.IsNoop() {
		t.Error("IsNoop")
	}
	// Body must not alias the input.
	d.Bytes()[len(d.Bytes())-3] = 'X'
	if string(got.Body) != "new body" {
		t.Error("Body aliases the guest buffer")
	}

	d.Reset()
	d.SelectQueue(-1)
	d.ReplaceBody(nil)
	got, err = DecodeDecision(d.Bytes())
	if err != nil || got.QueueIndex != -1 || !got.ReplaceBody || len(got.Body) != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, b := range [][]byte{nil, {}} {
		got, err = DecodeDecision(b)
		if err != nil || !got.IsNoop() || got.QueueIndex != -1 {
			t.Fatalf("empty decision: %+v, %v", got, err)
		}
	}
	// queue_index out of int32 range is "no choice".
	got, err = DecodeDecision(appendVarint([]byte{0x40}, 1<<31))
	if err != nil || got.QueueIndex != -1 {
		t.Fatalf("big queue index: %+v, %v", got, err)
	}
}

func TestDecodeDecisionIntoReuses(t *testing.T) {
	var d DecisionBuilder
	d.SetProperty("a", "1")
	d.SetProperty("b", "2")
	var dec Decision
	if err := DecodeDecisionInto(&dec, d.Bytes()); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeDecisionInto(&dec, d.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("DecodeDecisionInto: %v allocs, want <= 1 (the strings)", allocs)
	}
}

func TestUnknownVerdict(t *testing.T) {
	if _, err := DecodeDecision([]byte{0x08, 0x02}); err == nil || !strings.Contains(err.Error(), "unknown verdict") {
		t.Fatalf("err = %v", err)
	}
}

func TestHookInfoRoundTrip(t *testing.T) {
	in := HookInfo{
		Name: "router", Version: "1.2.3",
		Points:        []HookPoint{PointBeforeSend, PointSelectQueue, 99},
		Needs:         []Need{NeedProperties, NeedQueues, NeedBodyLazy},
		Topics:        []string{"orders", ""},
		FailurePolicy: FailOpen, TimeoutUs: 2000, ConsistentSelect: true, SelectRetry: SelectRetrySameQueue,
	}
	got, err := DecodeHookInfo(AppendHookInfo(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	if !got.Has(PointSelectQueue) || got.Has(PointAfterSend) || !got.Need(NeedQueues) || got.Need(NeedBodyEager) {
		t.Error("Has/Need")
	}
	// Unpacked repeated enums (what an encoder may also write) decode the same.
	b := AppendHookInfo(nil, &HookInfo{Name: "x"})
	b = append(b, 0x18, 0x01, 0x18, 0x04, 0x20, 0x02)
	got, err = DecodeHookInfo(b)
	if err != nil || !reflect.DeepEqual(got.Points, []HookPoint{1, 4}) || !reflect.DeepEqual(got.Needs, []Need{2}) {
		t.Fatalf("unpacked: %+v, %v", got, err)
	}
}

func TestHookConfigRoundTrip(t *testing.T) {
	in := HookConfig{Config: []byte(`{"limit":3}`), Settings: []KV{{"a", "1"}, {"b", ""}, {"a", "2"}}}
	got, err := DecodeHookConfig(AppendHookConfig(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	if v, ok := got.Setting("a"); !ok || v != "2" {
		t.Errorf("Setting(a) = %q, %v; want the last entry", v, ok)
	}
	if _, ok := got.Setting("zz"); ok {
		t.Error("Setting(zz)")
	}
}

// unknownFields has one field of every wire type with numbers no version uses here (and 19, 26
// in MessageView), including a nested group.
func unknownFields() []byte {
	var b []byte
	b = appendVarint(appendTag(b, 99, wireVarint), 1<<40)
	b = append(appendTag(b, 29, wireI64), 1, 2, 3, 4, 5, 6, 7, 8)
	b = append(appendTag(b, 19, wireI32), 1, 2, 3, 4)
	b = appendStringAlways(b, 26, "future")
	b = appendTag(b, 1000, wireSGroup)
	b = appendVarint(appendTag(b, 1, wireVarint), 5)
	b = appendTag(b, 7, wireSGroup)
	b = appendTag(b, 7, wireEGroup)
	b = appendTag(b, 1000, wireEGroup)
	return b
}

func TestUnknownFieldsSkipped(t *testing.T) {
	u := unknownFields()
	// MessageView: unknown fields before, between and after.
	in := fullView()
	b := append(append([]byte{}, u...), AppendMessageView(nil, in)...)
	b = append(b, u...)
	var v View
	v.Reset(b)
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := readView(t, &v); !reflect.DeepEqual(got, in) {
		t.Errorf("view with unknown fields:\n got %+v\nwant %+v", got, in)
	}
	// Unknown fields inside a property and a queue ref.
	nested := []byte{0x22, 0x0b, 0x0a, 0x01, 'k', 0xf8, 0x06, 0x01, 0x12, 0x01, 'v', 0x18, 0x00}
	nested = append(nested, 0x7a, 0x07, 0x0a, 0x01, 'b', 0x18, 0x05, 0x10, 0x03)
	v.Reset(nested)
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	if val, ok := v.Property("k"); !ok || string(val) != "v" {
		t.Errorf("Property(k) = %q, %v", val, ok)
	}
	it := v.Queues()
	if _, br, id, ok := it.Next(); !ok || string(br) != "b" || id != 3 {
		t.Errorf("queue = %q %d %v", br, id, ok)
	}

	var d DecisionBuilder
	d.SetProperty("a", "b")
	d.SelectQueue(2)
	db := append(append([]byte{}, u...), d.Bytes()...)
	db = append(db, u...)
	dec, err := DecodeDecision(db)
	if err != nil || len(dec.Edits) != 1 || dec.Edits[0] != (PropertyEdit{"a", "b", false}) || dec.QueueIndex != 2 {
		t.Fatalf("decision with unknown fields: %+v, %v", dec, err)
	}
	hi := HookInfo{Name: "n", Points: []HookPoint{PointAfterSend}}
	info, err := DecodeHookInfo(append(AppendHookInfo(append([]byte{}, u...), &hi), u...))
	if err != nil || !reflect.DeepEqual(info, hi) {
		t.Fatalf("info with unknown fields: %+v, %v", info, err)
	}
	hc := HookConfig{Config: []byte("c")}
	cfg, err := DecodeHookConfig(append(AppendHookConfig(append([]byte{}, u...), &hc), u...))
	if err != nil || !reflect.DeepEqual(cfg, hc) {
		t.Fatalf("config with unknown fields: %+v, %v", cfg, err)
	}
}

func TestMalformed(t *testing.T) {
	valid := AppendMessageView(nil, fullView())
	cases := map[string][]byte{
		"truncated tag":        {0x80},
		"truncated varint":     {0x28, 0x80},
		"varint too long":      {0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"varint overflow":      {0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		"length past end":      {0x0a, 0x05, 'a'},
		"huge length":          {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"field number 0":       {0x00, 0x01},
		"wire type 6":          {0x0e},
		"end group alone":      {0x0c},
		"unterminated group":   {0x0b, 0x08, 0x01},
		"mismatched group":     {0x0b, 0x14},
		"truncated fixed64":    {0x09, 1, 2},
		"truncated fixed32":    {0x0d, 1},
		"topic as varint":      {0x08, 0x01},
		"body_size as bytes":   {0x2a, 0x00},
		"bad nested property":  {0x22, 0x02, 0x0a, 0x05},
		"property name varint": {0x22, 0x02, 0x08, 0x01},
		"queue id as bytes":    {0x62, 0x02, 0x12, 0x00},
		"truncated valid view": valid[:len(valid)-1],
		"deeply nested groups": bytes.Repeat([]byte{0x0b}, 100),
	}
	for name, b := range cases {
		var v View
		v.Reset(b)
		// Reading stops quietly at the damage; Err then reports it, and Validate always does.
		_, _, _ = v.Topic(), v.PropertyCount(), v.LatencyNs()
		if err := v.Err(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: View.Err after reading = %v", name, err)
		}
		v.Reset(b)
		if err := v.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: View.Validate = %v", name, err)
		}
	}
	decCases := map[string][]byte{
		"verdict as bytes":  {0x0a, 0x00},
		"reason as varint":  {0x10, 0x01},
		"edit truncated":    {0x1a, 0x03, 0x0a, 0x05, 'x'},
		"edit delete bytes": {0x1a, 0x02, 0x1a, 0x00},
		"queue_index bytes": {0x42, 0x00},
		"truncated":         {0x12, 0x03, 'a'},
	}
	for name, b := range decCases {
		if _, err := DecodeDecision(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeDecision err = %v", name, err)
		}
	}
	infoCases := map[string][]byte{
		"name as varint":    {0x08, 0x01},
		"points as fixed32": {0x1d, 1, 2, 3, 4},
		"packed truncated":  {0x1a, 0x01, 0x80},
		"timeout as bytes":  {0x3a, 0x00},
		"policy truncated":  {0x30},
	}
	for name, b := range infoCases {
		if _, err := DecodeHookInfo(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeHookInfo err = %v", name, err)
		}
	}
	for name, b := range map[string][]byte{"config as varint": {0x08, 0x01}, "setting key varint": {0x12, 0x02, 0x08, 0x01}} {
		if _, err := DecodeHookConfig(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeHookConfig err = %v", name, err)
		}
	}
}

func TestPackResult(t *testing.T) {
	if r := PackResult(0, 0, false); r != 0 {
		t.Fatal(r)
	}
	r := PackResult(0x10000, 42, true)
	if r != 0x00010000_8000002a {
		t.Fatalf("%#x", r)
	}
	ptr, n, isErr, noop := UnpackResult(r)
	if ptr != 0x10000 || n != 42 || !isErr || noop {
		t.Fatal(ptr, n, isErr, noop)
	}
	if _, _, _, noop := UnpackResult(0); !noop {
		t.Fatal("0 is not noop")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic for a 2 GiB length")
			}
		}()
		PackResult(1, MaxResultLen+1, false)
	}()
}

func TestZeroAllocs(t *testing.T) {
	mv := benchView()
	buf := AppendMessageView(nil, mv)
	if a := testing.AllocsPerRun(100, func() { buf = AppendMessageView(buf[:0], mv) }); a != 0 {
		t.Errorf("AppendMessageView: %v allocs", a)
	}
	var v View
	if a := testing.AllocsPerRun(100, func() {
		v.Reset(buf)
		if _, ok := v.Property("TRACE_ON"); !ok {
			t.Fatal("TRACE_ON")
		}
		v.EachProperty(func(n, val []byte) bool { return true })
		it := v.Queues()
		for _, _, _, ok := it.Next(); ok; _, _, _, ok = it.Next() {
		}
	}); a != 0 {
		t.Errorf("View: %v allocs", a)
	}
	var d DecisionBuilder
	if a := testing.AllocsPerRun(100, func() {
		d.Reset()
		d.SetProperty("trace-id", "0af7651916cd43dd8448eb211c80319c")
		d.SetTags("x")
		d.SelectQueue(1)
	}); a != 0 {
		t.Errorf("DecisionBuilder: %v allocs", a)
	}
}

// The worked example of docs/abi.md: the test fails if the document and the encoder disagree.
func docExample() (view, allow, forbid []byte) {
	view = AppendMessageView(nil, &MessageView{
		Topic: "orders", Tags: "paid", Keys: "o-42",
		Properties: []Property{{"region", "eu"}},
		BodySize:   128, Group: "pg", Mode: ModeSync, MessageType: MessageTypeNormal, Attempt: 1,
	})
	var d DecisionBuilder
	d.SetProperty("trace", "t1")
	d.SetTags("paid,eu")
	allow = append([]byte{}, d.Bytes()...)
	d.Reset()
	d.Forbid("no quota")
	forbid = d.Bytes()
	return view, allow, forbid
}

func TestDocExample(t *testing.T) {
	doc, err := readDoc()
	if err != nil {
		t.Fatal("docs/abi.md must exist beside this package: this test keeps its example true:", err)
	}
	view, allow, forbid := docExample()
	for name, b := range map[string][]byte{"view": view, "edit decision": allow, "forbid decision": forbid} {
		h := spacedHex(b)
		if !strings.Contains(doc, h) {
			t.Errorf("docs/abi.md lacks the %s hex:\n%s", name, h)
		}
	}
}

// spacedHex formats b as lowercase hex bytes separated by spaces, 16 to a line.
func spacedHex(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		j := min(i+16, len(b))
		s := hex.EncodeToString(b[i:j])
		for k := 0; k < len(s); k += 2 {
			if k > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(s[k : k+2])
		}
		if j < len(b) {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// TestViewForPoint: the point-specific field orders read back as the canonical one does.
func TestViewForPoint(t *testing.T) {
	in := fullView()
	canonical := AppendMessageView(nil, in)
	for _, p := range []HookPoint{PointBeforeSend, PointAfterSend, PointCheckForbidden, PointSelectQueue} {
		b := AppendMessageViewFor(nil, p, in)
		if len(b) != len(canonical) {
			t.Fatalf("point %d: %d bytes, canonical %d", p, len(b), len(canonical))
		}
		var v View
		v.Reset(b)
		if err := v.Validate(); err != nil {
			t.Fatalf("point %d: %v", p, err)
		}
		v.Reset(b) // lazily, as a guest reads it
		if got := readView(t, &v); !reflect.DeepEqual(got, in) {
			t.Fatalf("point %d:\n got %+v\nwant %+v", p, got, in)
		}
	}
	if b := AppendMessageViewFor(nil, PointAfterSend, in); b[0] != byte(fViewStatus<<3&0x7f|0x80) {
		t.Fatalf("AFTER_SEND view starts with %#x, want the status tag", b[0])
	}
}

// TestViewLongTag: a field whose tag takes three bytes (an unknown field number) is skipped whole,
// not read as a one-byte tag (0x80 would be field 16, queue_count). Found by FuzzView.
func TestViewLongTag(t *testing.T) {
	b := []byte{0x0a, 0x01, 't', 0x80, 0xff, 0x30, 0x22, 0x12, 0x01, 'x'}
	var v View
	v.Reset(b)
	if string(v.Topic()) != "t" || string(v.Tags()) != "x" || v.QueueCount() != 0 || v.PropertyCount() != 0 || v.Err() != nil {
		t.Fatalf("topic %q tags %q queue_count %d properties %d err %v", v.Topic(), v.Tags(), v.QueueCount(), v.PropertyCount(), v.Err())
	}
}
