package hookv1

import "fmt"

// This file is the guest side of the codec: a lazy, allocation-free reader of the MessageView the
// host writes, a builder of Decisions, and the encoder of HookInfo.

type span struct{ start, end uint32 }

const maxViewField = fViewError

// View reads a MessageView in place, without allocating or copying. It is lazy: Reset only
// records the bytes, and each accessor scans forward from where the last one stopped until it has
// found its field, recording every field it passes. A hook that reads the topic or the tags pays for
// a field or two, not for the whole view, which matters in a wasm guest where decoding costs tens of
// nanoseconds per field. The host writes fields in ascending number order and each singular field
// at most once (docs/abi.md §5.1), so the first occurrence found is the field.
//
// Validation is lazy too: a view that turns out to be malformed where an accessor looked reads as if
// it ended there, and Err reports it. Err with a full scan (Validate) checks the whole view.
//
// The []byte values returned alias the view bytes: they are valid as long as those bytes are (for
// a wasm guest: until the host's next call), so copy what you keep (string(b)).
//
// A View is a value of fixed size; reuse one per instance.
type View struct {
	b      []byte
	pos    int    // every field before b[pos] has been recorded
	err    error  // why the scan stopped early
	has    uint64 // bit n: field n found
	spans  [maxViewField + 1]span
	nums   [maxViewField + 1]uint64
	props  span // bytes from the first property field to the end of the last one
	queues span
	nProps int
	nQs    int
	qRef   span // payload of the queue field
}

// Field numbers by wire type, as bit sets, so that the scanner's fast path is a shift and a test.
const (
	viewVarints = 1<<fViewBodySize | 1<<fViewFlag | 1<<fViewMode | 1<<fViewMessageType | 1<<fViewAttempt |
		1<<fViewQueueCount | 1<<fViewStatus | 1<<fViewQueueOffset | 1<<fViewLatencyNs | 1<<fViewBatch
	viewStrings = 1<<fViewTopic | 1<<fViewTags | 1<<fViewKeys | 1<<fViewGroup | 1<<fViewNamespace |
		1<<fViewBrokerAddr | 1<<fViewBornHost | 1<<fViewSelectArg | 1<<fViewMsgID | 1<<fViewOffsetMsgID |
		1<<fViewError
)

var errViewTooLarge = fmt.Errorf("%w: view larger than 4 GiB", ErrMalformed)

// Reset makes v read b. It does not look at the bytes (see View).
func (v *View) Reset(b []byte) {
	// Field slots are not cleared: the has bits guard them, and clearing costs more than a scan.
	v.b, v.pos, v.err, v.has = b, 0, nil, 0
	v.props, v.queues, v.nProps, v.nQs = span{}, span{}, 0, 0
	if uint64(len(b)) > 1<<32-1 { // spans are 32-bit
		v.pos, v.err = len(b), errViewTooLarge
	}
}

// Err reports the malformation the accessors ran into so far, or nil.
func (v *View) Err() error { return v.err }

// Validate scans the whole view and returns an error wrapping ErrMalformed if it is not a
// well-formed MessageView (unknown fields are skipped).
func (v *View) Validate() error {
	v.scanTo(64)
	return v.err
}

func (v *View) scanAll() { v.scanTo(64) }

// scanTo records fields from v.pos until it has recorded field stop (64: none, scan everything)
// or reached the end, and reports whether stop was found.
//
// The common shape is decoded inline: a one-byte tag (fields 1-15) or a two-byte one (16-2047),
// then a one-byte length (strings) or a varint (scalars), for a field of this version; scanSlow
// takes any other. Go in wasm keeps its variables in linear memory and pays dearly for each call,
// so this loop is kept small and calls out only for the uncommon shapes.
func (v *View) scanTo(stop uint) bool {
	b, i := v.b, v.pos
	for i < len(b) {
		t, k := uint(b[i]), i+1
		if t >= 0x80 {
			if k < len(b) && b[k] < 0x80 {
				t, k = t&0x7f|uint(b[k])<<7, k+1
			} else {
				t = 1 << 14 // a tag of three bytes or more, or truncated: the general path
			}
		}
		n := t >> 3
		if t < 1<<14 && k < len(b) && n <= maxViewField {
			if t&7 == wireBytes && viewStrings>>n&1 != 0 && b[k] < 0x80 {
				if e := k + 1 + int(b[k]); e <= len(b) {
					v.spans[n] = span{uint32(k + 1), uint32(e)}
					v.has |= 1 << n
					i = e
					if n == stop {
						break
					}
					continue
				}
			} else if t&7 == wireVarint && viewVarints>>n&1 != 0 {
				x, j := uint64(b[k]), k+1
				if x >= 0x80 {
					x, j = consumeVarint(b, k)
				}
				if j > 0 {
					v.nums[n] = x
					v.has |= 1 << n
					i = j
					if n == stop {
						break
					}
					continue
				}
			}
		}
		v.pos = i
		v.scanSlow()
		i = v.pos
		if v.has&(1<<stop) != 0 { // found the general way (a long string, say)
			break
		}
	}
	v.pos = i
	return stop < 64 && v.has&(1<<stop) != 0
}

// scanSlow decodes the field at v.pos the general way and records it. A malformed field ends the
// scan: the view reads as if it stopped there, and Err reports why.
func (v *View) scanSlow() {
	i, err := v.scanField(v.b, v.pos, &v.has)
	if err != nil {
		v.pos, v.err = len(v.b), err
		return
	}
	v.pos = i
}

// scanField decodes the field at b[i:] the general way and records it; it returns the next index.
func (v *View) scanField(b []byte, i int, has *uint64) (int, error) {
	at := i
	var f field
	i, err := next(b, i, &f)
	if err != nil || f.num > maxViewField {
		return i, err
	}
	switch {
	case viewVarints>>f.num&1 != 0:
		err = wantType(&f, wireVarint, at)
		v.nums[f.num] = f.val
	case viewStrings>>f.num&1 != 0:
		err = wantType(&f, wireBytes, at)
		v.spans[f.num] = span{uint32(f.start), uint32(f.end)}
	case f.num == fViewProperties:
		if err = wantType(&f, wireBytes, at); err == nil {
			err = validatePair(b[:f.end], f.start, fPropName, fPropValue, wireBytes)
		}
	case f.num == fViewQueue || f.num == fViewQueues:
		if err = wantType(&f, wireBytes, at); err == nil {
			err = validatePair(b[:f.end], f.start, fQueueBroker, fQueueID, wireVarint)
		}
	default:
		return i, nil // a number this version does not use
	}
	if err != nil {
		return 0, err
	}
	switch f.num {
	case fViewProperties:
		if v.nProps == 0 {
			v.props.start = uint32(at)
		}
		v.props.end = uint32(f.end)
		v.nProps++
	case fViewQueue:
		v.qRef = span{uint32(f.start), uint32(f.end)}
	case fViewQueues:
		if v.nQs == 0 {
			v.queues.start = uint32(at)
		}
		v.queues.end = uint32(f.end)
		v.nQs++
	}
	*has |= 1 << f.num
	return i, nil
}

// validatePair checks an embedded message with a bytes field n1 and a field n2 of wire type t2.
func validatePair(b []byte, i int, n1, n2 uint64, t2 int) error {
	var g field
	for i < len(b) {
		at := i
		var err error
		if i, err = next(b, i, &g); err != nil {
			return err
		}
		switch g.num {
		case n1:
			err = wantType(&g, wireBytes, at)
		case n2:
			err = wantType(&g, t2, at)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Bytes returns the bytes the view reads.
func (v *View) Bytes() []byte { return v.b }

func (v *View) str(n uint) []byte {
	if v.has&(1<<n) == 0 && !v.scanTo(n) {
		return nil
	}
	s := v.spans[n]
	return v.b[s.start:s.end:s.end]
}

func (v *View) num(n uint) uint64 {
	if v.has&(1<<n) == 0 && !v.scanTo(n) {
		return 0
	}
	return v.nums[n]
}

// Has reports whether field number n (see hook.proto) is present.
func (v *View) Has(n int) bool {
	return n >= 0 && n <= maxViewField && (v.has&(1<<n) != 0 || v.scanTo(uint(n)))
}

func (v *View) Topic() []byte       { return v.str(fViewTopic) }
func (v *View) Tags() []byte        { return v.str(fViewTags) }
func (v *View) Keys() []byte        { return v.str(fViewKeys) }
func (v *View) Group() []byte       { return v.str(fViewGroup) }
func (v *View) Namespace() []byte   { return v.str(fViewNamespace) }
func (v *View) BrokerAddr() []byte  { return v.str(fViewBrokerAddr) }
func (v *View) BornHost() []byte    { return v.str(fViewBornHost) }
func (v *View) MsgID() []byte       { return v.str(fViewMsgID) }
func (v *View) OffsetMsgID() []byte { return v.str(fViewOffsetMsgID) }

// Error is the attempt's error text at AFTER_SEND; empty on success.
func (v *View) Error() []byte { return v.str(fViewError) }

// SelectArg is the send's selector arg, if the host passed one (a string or []byte arg).
func (v *View) SelectArg() ([]byte, bool) {
	return v.str(fViewSelectArg), v.Has(fViewSelectArg)
}

func (v *View) BodySize() uint32         { return uint32(v.num(fViewBodySize)) }
func (v *View) Flag() int32              { return int32(v.num(fViewFlag)) }
func (v *View) Mode() Mode               { return Mode(int32(v.num(fViewMode))) }
func (v *View) MessageType() MessageType { return MessageType(int32(v.num(fViewMessageType))) }
func (v *View) Attempt() uint32          { return uint32(v.num(fViewAttempt)) }
func (v *View) QueueCount() uint32       { return uint32(v.num(fViewQueueCount)) }
func (v *View) Status() SendStatus       { return SendStatus(int32(v.num(fViewStatus))) }
func (v *View) QueueOffset() int64       { return int64(v.num(fViewQueueOffset)) }
func (v *View) LatencyNs() int64         { return int64(v.num(fViewLatencyNs)) }

// Batch reports that the message is the wrapper of a batch send: its body is the encoded batch
// (every message with its properties and id), so a plugin must not rewrite it as one message's body
// (the host refuses a replaced body on a batch).
func (v *View) Batch() bool { return v.num(fViewBatch) != 0 }

func (v *View) PropertyCount() int { v.scanAll(); return v.nProps }
func (v *View) QueueListLen() int  { v.scanAll(); return v.nQs }
func (v *View) HasQueue() bool     { return v.Has(fViewQueue) }
func (v *View) Queue() (broker []byte, id int32) {
	if !v.Has(fViewQueue) {
		return nil, 0
	}
	return readPair(v.b[:v.qRef.end], int(v.qRef.start))
}

// readPair reads a validated Property or QueueRef payload: field 1 as bytes, field 2 as bytes
// (returned through the span) or varint.
func readPair(b []byte, i int) (first []byte, second int32) {
	var g field
	first = b[i:i:i]
	for i < len(b) {
		i, _ = next(b, i, &g)
		switch g.num {
		case 1:
			first = b[g.start:g.end:g.end]
		case 2:
			second = int32(g.val)
		}
	}
	return first, second
}

func readProp(b []byte, i int) (name, value []byte) {
	var g field
	name, value = b[i:i:i], b[i:i:i]
	for i < len(b) {
		i, _ = next(b, i, &g)
		switch g.num {
		case fPropName:
			name = b[g.start:g.end:g.end]
		case fPropValue:
			value = b[g.start:g.end:g.end]
		}
	}
	return name, value
}

// EachProperty calls fn for each property in order until fn returns false.
func (v *View) EachProperty(fn func(name, value []byte) bool) {
	v.scanAll()
	var f field
	for i := int(v.props.start); i < int(v.props.end); {
		var err error
		if i, err = next(v.b, i, &f); err != nil {
			return
		}
		if f.num != fViewProperties {
			continue
		}
		if !fn(readProp(v.b[:f.end], f.start)) {
			return
		}
	}
}

// Property returns the value of the first property called name. It does not allocate.
func (v *View) Property(name string) ([]byte, bool) {
	v.scanAll()
	var f field
	for i := int(v.props.start); i < int(v.props.end); {
		var err error
		if i, err = next(v.b, i, &f); err != nil {
			return nil, false
		}
		if f.num != fViewProperties {
			continue
		}
		n, val := readProp(v.b[:f.end], f.start)
		if string(n) == name {
			return val, true
		}
	}
	return nil, false
}

// Queues returns an iterator over the offered queues (SELECT_QUEUE with NEED_QUEUES).
func (v *View) Queues() QueueIter {
	v.scanAll()
	return QueueIter{b: v.b, i: int(v.queues.start), end: int(v.queues.end)}
}

// QueueIter iterates over MessageView.queues; the zero value is empty.
type QueueIter struct {
	b      []byte
	i, end int
	n      int
}

// Next returns the next queue: its index in the offered list, broker name and queue id; ok is
// false at the end.
func (q *QueueIter) Next() (index int, broker []byte, id int32, ok bool) {
	var f field
	for q.i < q.end {
		var err error
		if q.i, err = next(q.b, q.i, &f); err != nil {
			q.i = q.end
			break
		}
		if f.num != fViewQueues {
			continue
		}
		broker, id = readPair(q.b[:f.end], f.start)
		q.n++
		return q.n - 1, broker, id, true
	}
	return 0, nil, 0, false
}

// DecisionBuilder appends a Decision into a reusable buffer. The zero value is ready; Reset before
// each call. An empty builder means "allow, no change": return 0 from hook_call rather than its
// (empty) bytes.
type DecisionBuilder struct{ buf []byte }

// Reset empties the builder, keeping its buffer.
func (d *DecisionBuilder) Reset() { d.buf = d.buf[:0] }

// Bytes returns the encoded Decision. It aliases the builder's buffer.
func (d *DecisionBuilder) Bytes() []byte { return d.buf }

// Empty reports whether nothing was added (allow, no change).
func (d *DecisionBuilder) Empty() bool { return len(d.buf) == 0 }

// Forbid sets the verdict FORBID with a reason.
func (d *DecisionBuilder) Forbid(reason string) {
	d.buf = appendVarint(appendTag(d.buf, fDecVerdict, wireVarint), uint64(Forbid))
	d.buf = appendStringField(d.buf, fDecReason, reason)
}

// SetProperty adds an edit that sets a property.
func (d *DecisionBuilder) SetProperty(name, value string) { d.edit(name, value, false) }

// DeleteProperty adds an edit that removes a property.
func (d *DecisionBuilder) DeleteProperty(name string) { d.edit(name, "", true) }

func (d *DecisionBuilder) edit(name, value string, del bool) {
	n := sizeStringField(fEditName, name) + sizeStringField(fEditValue, value)
	if del {
		n += 2
	}
	d.buf = appendTag(d.buf, fDecEdits, wireBytes)
	d.buf = appendVarint(d.buf, uint64(n))
	d.buf = appendStringField(d.buf, fEditName, name)
	d.buf = appendStringField(d.buf, fEditValue, value)
	if del {
		d.buf = appendUintField(d.buf, fEditDelete, 1)
	}
}

// SetTags replaces the message's tags (possibly with "", which clears them).
func (d *DecisionBuilder) SetTags(tags string) { d.buf = appendStringAlways(d.buf, fDecTags, tags) }

// SetKeys replaces the message's keys (space-separated).
func (d *DecisionBuilder) SetKeys(keys string) { d.buf = appendStringAlways(d.buf, fDecKeys, keys) }

// ReplaceBody replaces the message body with body (copied into the builder).
func (d *DecisionBuilder) ReplaceBody(body []byte) {
	d.buf = appendUintField(d.buf, fDecReplaceBody, 1)
	d.buf = appendBytesField(d.buf, fDecBody, body)
}

// SelectQueue chooses the queue at index i of the offered queues; a negative i means no choice.
func (d *DecisionBuilder) SelectQueue(i int32) {
	d.buf = appendVarint(appendTag(d.buf, fDecQueueIndex, wireVarint), uint64(int64(i)))
}

// AppendHookInfo appends the protobuf encoding of h to dst (repeated enums packed).
func AppendHookInfo(dst []byte, h *HookInfo) []byte {
	b := appendStringField(dst, fInfoName, h.Name)
	b = appendStringField(b, fInfoVersion, h.Version)
	if len(h.Points) > 0 {
		n := 0
		for _, p := range h.Points {
			n += sizeVarint(uint64(int64(p)))
		}
		b = appendVarint(appendTag(b, fInfoPoints, wireBytes), uint64(n))
		for _, p := range h.Points {
			b = appendVarint(b, uint64(int64(p)))
		}
	}
	if len(h.Needs) > 0 {
		n := 0
		for _, p := range h.Needs {
			n += sizeVarint(uint64(int64(p)))
		}
		b = appendVarint(appendTag(b, fInfoNeeds, wireBytes), uint64(n))
		for _, p := range h.Needs {
			b = appendVarint(b, uint64(int64(p)))
		}
	}
	for _, t := range h.Topics {
		b = appendStringAlways(b, fInfoTopics, t)
	}
	b = appendIntField(b, fInfoFailurePolicy, int64(h.FailurePolicy))
	b = appendUintField(b, fInfoTimeoutUs, uint64(h.TimeoutUs))
	if h.ConsistentSelect {
		b = appendUintField(b, fInfoConsistent, 1)
	}
	b = appendIntField(b, fInfoSelectRetry, int64(h.SelectRetry))
	return b
}

// DecodeHookConfig decodes the HookConfig the host passes to hook_init. The result owns its
// memory. Unknown fields are skipped; malformed input is an error wrapping ErrMalformed.
func DecodeHookConfig(b []byte) (HookConfig, error) {
	var c HookConfig
	var f field
	for i := 0; i < len(b); {
		at := i
		var err error
		if i, err = next(b, i, &f); err != nil {
			return HookConfig{}, err
		}
		switch f.num {
		case fCfgConfig:
			if err := wantType(&f, wireBytes, at); err != nil {
				return HookConfig{}, err
			}
			c.Config = append([]byte(nil), b[f.start:f.end]...)
		case fCfgSettings:
			if err = wantType(&f, wireBytes, at); err == nil {
				err = validatePair(b[:f.end], f.start, fKVKey, fKVValue, wireBytes)
			}
			if err != nil {
				return HookConfig{}, err
			}
			k, val := readProp(b[:f.end], f.start)
			c.Settings = append(c.Settings, KV{Key: string(k), Value: string(val)})
		}
	}
	return c, nil
}

// Setting returns the value of the setting called key; as in a protobuf map, the last entry with
// that key wins.
func (c *HookConfig) Setting(key string) (string, bool) {
	for i := len(c.Settings) - 1; i >= 0; i-- {
		if c.Settings[i].Key == key {
			return c.Settings[i].Value, true
		}
	}
	return "", false
}
