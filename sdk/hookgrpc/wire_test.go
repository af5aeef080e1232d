package hookgrpc

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// TestBytesFieldsAreEmbeddedMessages checks the claim of service.proto: a bytes field holding a
// hook.v1 message's encoding is, on the wire, that message embedded. A peer that declares the field
// as hook.v1.MessageView (here: encoded by hand as an embedded message) and the generated Go type
// read each other's bytes.
func TestBytesFieldsAreEmbeddedMessages(t *testing.T) {
	view := hookv1.AppendMessageView(nil, &hookv1.MessageView{
		Topic: "orders", Tags: "paid", Properties: []hookv1.Property{{Name: "k", Value: "v"}}, Attempt: 1,
	})
	// The peer's encoding: CallRequest{1: id, 2: point, 3: MessageView (embedded), 4: body}.
	var peer []byte
	peer = protowire.AppendTag(peer, 1, protowire.VarintType)
	peer = protowire.AppendVarint(peer, 7)
	peer = protowire.AppendTag(peer, 2, protowire.VarintType)
	peer = protowire.AppendVarint(peer, uint64(hookv1.PointBeforeSend))
	peer = protowire.AppendTag(peer, 3, protowire.BytesType)
	peer = protowire.AppendBytes(peer, view)
	peer = protowire.AppendTag(peer, 4, protowire.BytesType)
	peer = protowire.AppendBytes(peer, []byte("body"))

	var req CallRequest
	if err := proto.Unmarshal(peer, &req); err != nil {
		t.Fatal(err)
	}
	if req.Id != 7 || req.Point != int32(hookv1.PointBeforeSend) || !bytes.Equal(req.View, view) || string(req.Body) != "body" {
		t.Fatalf("decoded %v", &req)
	}
	var v hookv1.View
	v.Reset(req.View)
	if string(v.Topic()) != "orders" {
		t.Fatalf("view topic %q", v.Topic())
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, peer) {
		t.Fatalf("generated encoding differs from the embedded-message encoding:\n got % x\nwant % x", out, peer)
	}

	// A result whose decision a peer wrote as an embedded hook.v1.Decision.
	var d hookv1.DecisionBuilder
	d.Forbid("no")
	var res []byte
	res = protowire.AppendTag(res, 1, protowire.VarintType)
	res = protowire.AppendVarint(res, 7)
	res = protowire.AppendTag(res, 2, protowire.BytesType)
	res = protowire.AppendBytes(res, d.Bytes())
	var cr CallResult
	if err := proto.Unmarshal(res, &cr); err != nil {
		t.Fatal(err)
	}
	dec, err := hookv1.DecodeDecision(cr.Decision)
	if err != nil || dec.Verdict != hookv1.Forbid || dec.Reason != "no" {
		t.Fatalf("decision: %+v, %v", dec, err)
	}
}

// TestAbsentBodyIsNotEmptyBody: optional body distinguishes "no body sent" (a plugin without
// NEED_BODY_*) from an empty body.
func TestAbsentBodyIsNotEmptyBody(t *testing.T) {
	for _, c := range []struct {
		body []byte
		want bool
	}{{nil, false}, {[]byte{}, true}, {[]byte("x"), true}} {
		b, err := proto.Marshal(&CallRequest{Body: c.body})
		if err != nil {
			t.Fatal(err)
		}
		var got CallRequest
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if (got.Body != nil) != c.want {
			t.Errorf("body %q: present after round trip = %v, want %v", c.body, got.Body != nil, c.want)
		}
	}
}
