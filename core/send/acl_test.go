package send_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
	"go.uber.org/goleak"
)

// TestMain stops the clusters these tests started, then checks that no producer left a goroutine
// behind (heartbeat loop, callback workers, route poller, connection readers).
func TestMain(m *testing.M) { rmqtest.Main(m, func() error { return goleak.Find() }) }

// hmacBase64 is the signature of content by hand: HMAC-SHA1, standard padded base64.
func hmacBase64(secret, content string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(content))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func signedBy(t *testing.T, c send.Credentials, req *codec.Command) string {
	t.Helper()
	if err := send.NewACLHook(c).BeforeRequest("127.0.0.1:10911", req); err != nil {
		t.Fatalf("BeforeRequest: %v", err)
	}
	sig, ok := req.ExtValue("Signature")
	if !ok {
		t.Fatal("no Signature ext field")
	}
	n := 0
	for _, f := range req.Fields() {
		if f.Key == "Signature" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d Signature fields on the wire, want 1", n)
	}
	return sig
}

// goldenRequest has header fields, extra fields (one a stale Signature, ignored), non-ASCII
// values and a body.
func goldenRequest() *codec.Command {
	req := codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "b", Value: "12345"}, {Key: "a", Value: "A-value"}}, []byte("hello body"))
	req.Ext = []codec.Field{{Key: "z", Value: "订单"}, {Key: "Signature", Value: "stale"}}
	return req
}

func TestACLSignatureGolden(t *testing.T) {
	creds := send.Credentials{AccessKey: "rocketmq", SecretKey: "12345678"}
	req := goldenRequest()
	got := signedBy(t, creds, req)
	// Sorted keys: AccessKey, a, b, z (Signature left out); values only; then the body.
	want := hmacBase64("12345678", "rocketmq"+"A-value"+"12345"+"订单"+"hello body")
	if got != want {
		t.Errorf("signature %q, by hand %q", got, want)
	}
	// The same request signed by Java's AclClientRPCHook (rocketmq-client 5.3.3).
	if got != "gFj+jecAsXAJL8sGFjBS0C9u5IQ=" {
		t.Errorf("signature %q, Java AclClientRPCHook gFj+jecAsXAJL8sGFjBS0C9u5IQ=", got)
	}
	if ak, _ := req.ExtValue("AccessKey"); ak != "rocketmq" {
		t.Errorf("AccessKey = %q", ak)
	}
	if _, ok := req.ExtValue("SecurityToken"); ok {
		t.Error("SecurityToken added without a token")
	}

	// Signing again (a retry) gives the same signature, still one AccessKey and one Signature.
	if again := signedBy(t, creds, req); again != got {
		t.Errorf("re-signed %q, first %q", again, got)
	}
	if n := len(req.Fields()); n != 5 {
		t.Errorf("%d fields after re-signing, want 5: %v", n, req.Fields())
	}
}

func TestACLSignatureSecurityToken(t *testing.T) {
	creds := send.Credentials{AccessKey: "rocketmq", SecretKey: "12345678", SecurityToken: "tok-123"}
	req := goldenRequest()
	got := signedBy(t, creds, req)
	// SecurityToken sorts after AccessKey and before the lower-case keys, and is signed.
	want := hmacBase64("12345678", "rocketmq"+"tok-123"+"A-value"+"12345"+"订单"+"hello body")
	if got != want {
		t.Errorf("signature %q, by hand %q", got, want)
	}
	if got != "w+pQOazzcCFr5GfOboqX9AgBdDQ=" {
		t.Errorf("signature %q, Java AclClientRPCHook w+pQOazzcCFr5GfOboqX9AgBdDQ=", got)
	}
	if tok, _ := req.ExtValue("SecurityToken"); tok != "tok-123" {
		t.Errorf("SecurityToken = %q", tok)
	}
	// client-go v2 leaves the token out of the content: that signature must not be ours.
	if got == hmacBase64("12345678", "rocketmq"+"A-value"+"12345"+"订单"+"hello body") {
		t.Error("token not signed")
	}
}

func TestACLSignatureEdgeCases(t *testing.T) {
	creds := send.Credentials{AccessKey: "ak", SecretKey: "sk"}

	// No body: the content is the values alone.
	req := codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "x", Value: "1"}}, nil)
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"1"); got != want {
		t.Errorf("no body: %q, want %q", got, want)
	}

	// A key sent twice counts once, with the value the broker keeps: the last one.
	req = codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "k", Value: "header"}}, nil)
	req.Ext = []codec.Field{{Key: "k", Value: "ext"}}
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"ext"); got != want {
		t.Errorf("duplicate key: %q, want %q", got, want)
	}

	// Keys sort by code unit (Java TreeMap): upper case before lower case, "ab" after "a".
	req = codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "ab", Value: "3"}, {Key: "a", Value: "2"}, {Key: "B", Value: "1"}}, nil)
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"1"+"2"+"3"); got != want {
		t.Errorf("key order: %q, want %q", got, want)
	}
	// ... and U+FF5E (one UTF-16 unit) after U+1F600 (a surrogate pair starting 0xD83D), unlike byte order.
	req = codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "\uff5e", Value: "2"}, {Key: "\U0001F600", Value: "1"}}, nil)
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"1"+"2"); got != want {
		t.Errorf("UTF-16 key order: %q, want %q", got, want)
	}

	// Brokers leave _UNIQUE_KEY_QUERY out for requests of version <= V4_9_3 (399) only.
	req = codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "_UNIQUE_KEY_QUERY", Value: "true"}, {Key: "x", Value: "1"}}, nil)
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"true"+"1"); got != want {
		t.Errorf("_UNIQUE_KEY_QUERY, version %d: %q, want %q", req.Version, got, want)
	}
	req = codec.NewRequest(codec.SendMessageV2, codec.Fields{{Key: "_UNIQUE_KEY_QUERY", Value: "true"}, {Key: "x", Value: "1"}}, nil)
	req.Version = 399
	if got, want := signedBy(t, creds, req), hmacBase64("sk", "ak"+"1"); got != want {
		t.Errorf("_UNIQUE_KEY_QUERY, version 399: %q, want %q", got, want)
	}

	// A typed send header: every field it puts on the wire is signed, in key order.
	req = sendRequest("edge_topic")
	got := signedBy(t, creds, req)
	fields := req.Fields()
	slices.SortFunc(fields, func(a, b codec.Field) int { return strings.Compare(a.Key, b.Key) })
	var content strings.Builder
	for _, f := range fields {
		if f.Key != "Signature" {
			content.WriteString(f.Value)
		}
	}
	content.Write(req.Body)
	if want := hmacBase64("sk", content.String()); got != want {
		t.Errorf("send header: %q, want %q", got, want)
	}
	if len(fields) < 8 {
		t.Errorf("send header has only %d fields: %v", len(fields), fields)
	}

	// The hook never touches the response.
	send.NewACLHook(creds).AfterResponse("a", req, nil, nil)
}

func TestACLInvalidCredentials(t *testing.T) {
	for _, c := range []send.Credentials{{}, {AccessKey: "ak"}, {SecretKey: "sk"}, {SecurityToken: "t"}} {
		err := c.Validate()
		if !errors.Is(err, send.ErrInvalidCredentials) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidCredentials", c, err)
			continue
		}
		req := goldenRequest()
		before := len(req.Ext)
		err = send.NewACLHook(c).BeforeRequest("a", req)
		if !errors.Is(err, send.ErrInvalidCredentials) {
			t.Errorf("BeforeRequest with %+v = %v, want ErrInvalidCredentials", c, err)
		}
		if len(req.Ext) != before {
			t.Errorf("invalid credentials still changed the request: %v", req.Ext)
		}
		t.Logf("%+v: %v", c, err)
	}
	if err := (send.Credentials{AccessKey: "ak", SecretKey: "sk"}).Validate(); err != nil {
		t.Errorf("valid credentials: %v", err)
	}
}

// sendRequest is a SEND_MESSAGE_V2 that auto-creates topic through TBW102.
func sendRequest(topic string) *codec.Command {
	props := codec.EncodeProperties(map[string]string{
		message.PropertyUniqClientMessageIDKeyIdx: codec.NextUniqID(),
		message.PropertyWaitStoreMsgOK:            "true",
	})
	h := &codec.SendMessageRequestHeader{
		ProducerGroup:         "acl_it_group",
		Topic:                 topic,
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               0,
		BornTimestamp:         time.Now().UnixMilli(),
		Properties:            props,
	}
	return codec.NewRequest(codec.SendMessageV2, (*codec.SendMessageRequestHeaderV2)(h), []byte("acl integration body"))
}

func TestACLAgainstAuthBroker(t *testing.T) {
	c := rmqtest.Start(t, rmqtest.Auth())
	addr := c.BrokerAddr(rmqtest.BrokerA)
	const topic = "acl_it_topic"
	good := send.Credentials{AccessKey: c.AccessKey(), SecretKey: c.SecretKey()}

	invoke := func(t *testing.T, opts ...remote.Option) *codec.Command {
		t.Helper()
		cl := remote.NewClient(opts...)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := cl.Invoke(ctx, addr, sendRequest(topic), time.Now().Add(20*time.Second))
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		return resp
	}
	// refused checks a refusal: NO_PERMISSION from ACL 2.0 (5.x), SYSTEM_ERROR with an
	// AclException from ACL 1.0 (4.9.x), with a remark naming the reason.
	refusal, refusalName := int32(codec.NoPermission), "NO_PERMISSION (16)"
	if c.ACL1() {
		refusal, refusalName = codec.SystemError, "SYSTEM_ERROR (1)"
	}
	refused := func(t *testing.T, resp *codec.Command, remark string) {
		t.Helper()
		t.Logf("RocketMQ %s broker answered %d: %s", c.Version(), resp.Code, resp.Remark)
		if resp.Code != refusal {
			t.Fatalf("code %d (%s), want %s", resp.Code, resp.Remark, refusalName)
		}
		if c.ACL1() && !strings.Contains(resp.Remark, "AclException") {
			t.Errorf("remark %q is not an ACL 1.0 AclException", resp.Remark)
		}
		if !strings.Contains(strings.ToLower(resp.Remark), remark) {
			t.Errorf("remark %q does not mention %q", resp.Remark, remark)
		}
	}

	for _, st := range []codec.SerializeType{codec.SerializeRocketMQ, codec.SerializeJSON} {
		t.Run(st.String(), func(t *testing.T) {
			t.Run("unsigned", func(t *testing.T) {
				// No AccessKey: an anonymous request ("username cannot be null." from ACL 2.0,
				// "No accessKey is configured" from ACL 1.0).
				want := "username"
				if c.ACL1() {
					want = "accesskey"
				}
				refused(t, invoke(t, remote.WithSerializeType(st)), want)
			})
			t.Run("signed", func(t *testing.T) {
				resp := invoke(t, remote.WithSerializeType(st), remote.WithRPCHooks(send.NewACLHook(good)))
				t.Logf("broker answered %d: %s", resp.Code, resp.Remark)
				if resp.Code != codec.Success {
					t.Fatalf("signed send: code %d (%s), want SUCCESS", resp.Code, resp.Remark)
				}
				if id, _ := resp.ExtValue("msgId"); id == "" {
					t.Errorf("no msgId in the response: %v", resp.Ext)
				}
			})
			t.Run("wrong secret", func(t *testing.T) {
				bad := good
				bad.SecretKey += "x"
				refused(t, invoke(t, remote.WithSerializeType(st), remote.WithRPCHooks(send.NewACLHook(bad))), "signature")
			})
			t.Run("unknown user", func(t *testing.T) {
				refused(t, invoke(t, remote.WithSerializeType(st),
					remote.WithRPCHooks(send.NewACLHook(send.Credentials{AccessKey: "nobody", SecretKey: c.SecretKey()}))), "nobody")
			})
			t.Run("hook after the ACL hook", func(t *testing.T) {
				// A field added after signing breaks the signature: why the ACL hook must be last.
				late := lateField{"__ZONE_NAME", "zone-a"}
				refused(t, invoke(t, remote.WithSerializeType(st), remote.WithRPCHooks(send.NewACLHook(good), late)), "signature")
			})
			t.Run("unsigned security token", func(t *testing.T) {
				// client-go v2 leaves the token out of the signed content; the broker signs every field.
				late := lateField{"SecurityToken", "arbitrary-token-42"}
				refused(t, invoke(t, remote.WithSerializeType(st), remote.WithRPCHooks(send.NewACLHook(good), late)), "signature")
			})
			t.Run("security token", func(t *testing.T) {
				withToken := good
				withToken.SecurityToken = "arbitrary-token-42"
				resp := invoke(t, remote.WithSerializeType(st), remote.WithRPCHooks(send.NewACLHook(withToken)))
				t.Logf("broker answered %d: %s", resp.Code, resp.Remark)
				if resp.Code != codec.Success {
					t.Fatalf("signed send with a token: code %d (%s), want SUCCESS", resp.Code, resp.Remark)
				}
			})
		})
	}
}

// lateField is an RPC hook that adds a field, registered after the ACL hook.
type lateField struct{ key, value string }

func (l lateField) BeforeRequest(_ string, req *codec.Command) error {
	req.SetExt(l.key, l.value)
	return nil
}

func (lateField) AfterResponse(string, *codec.Command, *codec.Command, error) {}
