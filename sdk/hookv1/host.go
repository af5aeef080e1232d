package hookv1

import "fmt"

// This file is the host side of the codec: it encodes what the host sends (MessageView,
// HookConfig) and decodes what a plugin answers (HookInfo, Decision).

// AppendMessageView appends the protobuf encoding of v to dst and returns the extended slice. It
// allocates only when dst lacks capacity. Fields are written in field-number order, zero values
// omitted; properties are written in the order given (sort them for deterministic bytes).
func AppendMessageView(dst []byte, v *MessageView) []byte {
	b := appendViewMessage(dst, v)
	b = appendViewContext(b, v)
	b = appendViewSelect(b, v)
	return appendViewOutcome(b, v)
}

// AppendMessageViewFor is AppendMessageView with the fields the hooks of point read most written
// first: the outcome (fields 20-25) at AFTER_SEND, the queue count and select arg (16-17) at
// SELECT_QUEUE. Protobuf field order is free, and a lazy reader such as View stops scanning at the
// field it wants, so this saves a wasm guest the decoding of the fields in front.
func AppendMessageViewFor(dst []byte, point HookPoint, v *MessageView) []byte {
	switch point {
	case PointAfterSend:
		b := appendViewOutcome(dst, v)
		b = appendViewMessage(b, v)
		b = appendViewContext(b, v)
		return appendViewSelect(b, v)
	case PointSelectQueue:
		b := appendViewSelect(dst, v)
		b = appendViewMessage(b, v)
		b = appendViewContext(b, v)
		return appendViewOutcome(b, v)
	}
	return AppendMessageView(dst, v)
}

// appendViewMessage writes fields 1-6 and 18: the message itself.
func appendViewMessage(b []byte, v *MessageView) []byte {
	b = appendStringField(b, fViewTopic, v.Topic)
	b = appendStringField(b, fViewTags, v.Tags)
	b = appendStringField(b, fViewKeys, v.Keys)
	for i := range v.Properties {
		p := &v.Properties[i]
		b = appendTag(b, fViewProperties, wireBytes)
		b = appendVarint(b, uint64(sizeStringField(fPropName, p.Name)+sizeStringField(fPropValue, p.Value)))
		b = appendStringField(b, fPropName, p.Name)
		b = appendStringField(b, fPropValue, p.Value)
	}
	b = appendUintField(b, fViewBodySize, uint64(v.BodySize))
	b = appendIntField(b, fViewFlag, int64(v.Flag))
	if v.Batch {
		b = appendUintField(b, fViewBatch, 1)
	}
	return b
}

// appendViewContext writes fields 7-14: the producer and the attempt.
func appendViewContext(b []byte, v *MessageView) []byte {
	b = appendStringField(b, fViewGroup, v.Group)
	b = appendStringField(b, fViewNamespace, v.Namespace)
	b = appendIntField(b, fViewMode, int64(v.Mode))
	b = appendIntField(b, fViewMessageType, int64(v.MessageType))
	b = appendUintField(b, fViewAttempt, uint64(v.Attempt))
	if v.HasQueue {
		b = appendQueueRef(b, fViewQueue, &v.Queue)
	}
	b = appendStringField(b, fViewBrokerAddr, v.BrokerAddr)
	return appendStringField(b, fViewBornHost, v.BornHost)
}

// appendViewSelect writes fields 15-17: what a selector chooses from.
func appendViewSelect(b []byte, v *MessageView) []byte {
	for i := range v.Queues {
		b = appendQueueRef(b, fViewQueues, &v.Queues[i])
	}
	b = appendUintField(b, fViewQueueCount, uint64(v.QueueCount))
	if v.SelectArg != nil {
		b = appendTag(b, fViewSelectArg, wireBytes)
		b = appendVarint(b, uint64(len(v.SelectArg)))
		b = append(b, v.SelectArg...)
	}
	return b
}

// appendViewOutcome writes fields 20-25: the attempt's outcome.
func appendViewOutcome(b []byte, v *MessageView) []byte {
	b = appendIntField(b, fViewStatus, int64(v.Status))
	b = appendStringField(b, fViewMsgID, v.MsgID)
	b = appendStringField(b, fViewOffsetMsgID, v.OffsetMsgID)
	b = appendIntField(b, fViewQueueOffset, v.QueueOffset)
	b = appendIntField(b, fViewLatencyNs, v.LatencyNs)
	return appendStringField(b, fViewError, v.Error)
}

func appendQueueRef(b []byte, num int, q *QueueRef) []byte {
	b = appendTag(b, num, wireBytes)
	b = appendVarint(b, uint64(sizeStringField(fQueueBroker, q.Broker)+sizeUintField(fQueueID, uint64(int64(q.QueueID)))))
	b = appendStringField(b, fQueueBroker, q.Broker)
	return appendIntField(b, fQueueID, int64(q.QueueID))
}

// AppendHookConfig appends the protobuf encoding of c to dst. Settings are written in the order
// given.
func AppendHookConfig(dst []byte, c *HookConfig) []byte {
	b := appendBytesField(dst, fCfgConfig, c.Config)
	for i := range c.Settings {
		kv := &c.Settings[i]
		b = appendTag(b, fCfgSettings, wireBytes)
		b = appendVarint(b, uint64(sizeStringField(fKVKey, kv.Key)+sizeStringField(fKVValue, kv.Value)))
		b = appendStringField(b, fKVKey, kv.Key)
		b = appendStringField(b, fKVValue, kv.Value)
	}
	return b
}

// DecodeHookInfo decodes a HookInfo. Unknown fields are skipped; malformed input is an error
// wrapping ErrMalformed. Repeated enums are accepted packed and unpacked; unknown enum values are
// kept (the host ignores points and needs it does not know).
func DecodeHookInfo(b []byte) (HookInfo, error) {
	var h HookInfo
	var f field
	for i := 0; i < len(b); {
		at := i
		var err error
		if i, err = next(b, i, &f); err != nil {
			return HookInfo{}, err
		}
		switch f.num {
		case fInfoName, fInfoVersion, fInfoTopics:
			if err := wantType(&f, wireBytes, at); err != nil {
				return HookInfo{}, err
			}
			s := string(b[f.start:f.end])
			switch f.num {
			case fInfoName:
				h.Name = s
			case fInfoVersion:
				h.Version = s
			default:
				h.Topics = append(h.Topics, s)
			}
		case fInfoPoints, fInfoNeeds:
			err := eachEnum(b, &f, at, func(v int32) {
				if f.num == fInfoPoints {
					h.Points = append(h.Points, HookPoint(v))
				} else {
					h.Needs = append(h.Needs, Need(v))
				}
			})
			if err != nil {
				return HookInfo{}, err
			}
		case fInfoFailurePolicy:
			if err := wantType(&f, wireVarint, at); err != nil {
				return HookInfo{}, err
			}
			h.FailurePolicy = FailurePolicy(int32(f.val))
		case fInfoTimeoutUs:
			if err := wantType(&f, wireVarint, at); err != nil {
				return HookInfo{}, err
			}
			h.TimeoutUs = uint32(f.val)
		case fInfoConsistent:
			if err := wantType(&f, wireVarint, at); err != nil {
				return HookInfo{}, err
			}
			h.ConsistentSelect = f.val != 0
		case fInfoSelectRetry:
			if err := wantType(&f, wireVarint, at); err != nil {
				return HookInfo{}, err
			}
			h.SelectRetry = SelectRetry(int32(f.val))
		}
	}
	return h, nil
}

// eachEnum calls fn for each value of a repeated enum field, packed (wire type 2) or not.
func eachEnum(b []byte, f *field, at int, fn func(int32)) error {
	switch f.typ {
	case wireVarint:
		fn(int32(f.val))
		return nil
	case wireBytes:
		for j := f.start; j < f.end; {
			v, n := consumeVarint(b[:f.end], j)
			if n < 0 {
				return malformed("truncated packed varint", f.num, j)
			}
			fn(int32(v))
			j = n
		}
		return nil
	}
	return malformed(fmt.Sprintf("wire type %d, want 0 or 2", f.typ), f.num, at)
}

// DecodeDecision decodes a Decision. The result owns its memory (the guest's buffer may be reused
// as soon as the next call starts): all its strings share one allocation, and Body and Edits have
// their own. Unknown fields are skipped; malformed input, and a verdict this version does not know
// (the plugin is newer than the host), are errors.
func DecodeDecision(b []byte) (Decision, error) {
	var d Decision
	err := DecodeDecisionInto(&d, b)
	return d, err
}

// DecodeDecisionInto is DecodeDecision into d, reusing the capacity of d.Edits and d.Body.
func DecodeDecisionInto(d *Decision, b []byte) error {
	edits, body := d.Edits[:0], d.Body[:0]
	*d = Decision{QueueIndex: -1}
	// First pass: validate and count, so that strings can be cut from one copy of b.
	var f field
	nEdits, hasBody, hasText := 0, false, false
	for i := 0; i < len(b); {
		at := i
		var err error
		if i, err = next(b, i, &f); err != nil {
			return err
		}
		switch f.num {
		case fDecVerdict, fDecReplaceBody, fDecQueueIndex:
			if err := wantType(&f, wireVarint, at); err != nil {
				return err
			}
			if f.num == fDecVerdict && f.val > uint64(Forbid) {
				return fmt.Errorf("hookv1: decision has unknown verdict %d", int64(f.val))
			}
		case fDecReason, fDecTags, fDecKeys, fDecBody:
			if err := wantType(&f, wireBytes, at); err != nil {
				return err
			}
			hasBody = hasBody || f.num == fDecBody
			hasText = hasText || f.num != fDecBody
		case fDecEdits:
			if err := wantType(&f, wireBytes, at); err != nil {
				return err
			}
			if err := validateEdit(b[:f.end], f.start); err != nil {
				return err
			}
			nEdits++
			hasText = true
		}
	}
	if len(b) == 0 {
		return nil
	}
	var s string
	if hasText { // a selector's or a verdict's decision has no strings: no copy
		s = string(b) // one copy for every string field
	}
	if nEdits > 0 {
		if cap(edits) < nEdits {
			edits = make([]PropertyEdit, 0, nEdits)
		}
		d.Edits = edits
	}
	for i := 0; i < len(b); {
		i, _ = next(b, i, &f) // validated above
		switch f.num {
		case fDecVerdict:
			d.Verdict = Verdict(f.val)
		case fDecReason:
			d.Reason = s[f.start:f.end]
		case fDecTags:
			d.HasTags, d.Tags = true, s[f.start:f.end]
		case fDecKeys:
			d.HasKeys, d.Keys = true, s[f.start:f.end]
		case fDecReplaceBody:
			d.ReplaceBody = f.val != 0
		case fDecBody:
			body = append(body[:0], b[f.start:f.end]...) // last one wins
		case fDecQueueIndex:
			if q := int64(f.val); q >= 0 && q <= 1<<31-1 {
				d.QueueIndex = int32(q)
			} else {
				d.QueueIndex = -1
			}
		case fDecEdits:
			var e PropertyEdit
			var g field
			for j := f.start; j < f.end; {
				j, _ = next(b[:f.end], j, &g)
				switch g.num {
				case fEditName:
					e.Name = s[g.start:g.end]
				case fEditValue:
					e.Value = s[g.start:g.end]
				case fEditDelete:
					e.Delete = g.val != 0
				}
			}
			d.Edits = append(d.Edits, e)
		}
	}
	if hasBody {
		d.Body = body
	}
	return nil
}

func validateEdit(b []byte, i int) error {
	var g field
	for i < len(b) {
		at := i
		var err error
		if i, err = next(b, i, &g); err != nil {
			return err
		}
		switch g.num {
		case fEditName, fEditValue:
			err = wantType(&g, wireBytes, at)
		case fEditDelete:
			err = wantType(&g, wireVarint, at)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
