package send

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// Ext-field names of ACL signing (Java SessionCredentials).
const (
	aclAccessKey     = "AccessKey"
	aclSecurityToken = "SecurityToken"
	aclSignature     = "Signature"
	// uniqueKeyQuery is left out of the signed content of requests announcing version <= V4_9_3
	// by brokers (MixAll.UNIQUE_MSG_QUERY_FLAG), so it is here too.
	uniqueKeyQuery = "_UNIQUE_KEY_QUERY"
	versionV4_9_3  = 399
)

// ErrInvalidCredentials is wrapped by the error of Credentials.Validate, and so of every request an
// ACLHook with such credentials would sign.
var ErrInvalidCredentials = errors.New("send: invalid ACL credentials")

// Credentials are what an ACL-enabled RocketMQ broker authenticates a client with: the user name
// (AccessKey) and its password or secret (SecretKey), plus an optional SecurityToken for brokers
// that issue temporary credentials (cloud services). The SecretKey never goes on the wire.
type Credentials struct {
	AccessKey, SecretKey, SecurityToken string
}

// Validate reports credentials that cannot sign: both AccessKey and SecretKey are required.
func (c Credentials) Validate() error {
	switch {
	case c.AccessKey == "" && c.SecretKey == "":
		return fmt.Errorf("%w: AccessKey (the user name) and SecretKey (its password) are both empty", ErrInvalidCredentials)
	case c.AccessKey == "":
		return fmt.Errorf("%w: AccessKey (the user name) is empty", ErrInvalidCredentials)
	case c.SecretKey == "":
		return fmt.Errorf("%w: SecretKey (the password of user %q) is empty", ErrInvalidCredentials, c.AccessKey)
	}
	return nil
}

// ACLHook signs requests for brokers with authentication enabled, exactly as Java's
// AclClientRPCHook does (ACL 1.0 and 2.0 verify the same signature): it adds the ext fields
// AccessKey and, when set, SecurityToken; then it takes every ext field of the request (typed
// header fields and extra fields alike) except Signature, sorted by key, concatenates their values
// (no keys, no separators) as UTF-8, appends the body, computes HMAC-SHA1 of that with the
// SecretKey, and adds the standard, padded base64 of the MAC as the ext field Signature. Unlike
// rocketmq-client-go v2, the SecurityToken is part of the signed content, as in Java.
//
// The signature covers the exact set of fields on the wire, so the ACL hook must be the LAST RPC
// hook: a field another hook adds after it makes the broker refuse the request. Signing again is
// harmless (a retried request is re-signed from scratch, its old Signature ignored).
//
// An ACLHook is safe for concurrent use. Its AfterResponse does nothing.
type ACLHook struct {
	creds Credentials
	err   error
}

var _ remote.RPCHook = (*ACLHook)(nil)

// NewACLHook returns an *ACLHook signing with c. If c is invalid (see Credentials.Validate) every
// request fails with that error instead of reaching the broker unsigned; check c.Validate() first
// to report it at configuration time.
func NewACLHook(c Credentials) RPCHook {
	return &ACLHook{creds: c, err: c.Validate()}
}

// BeforeRequest implements RPCHook: it adds AccessKey, SecurityToken and Signature.
func (h *ACLHook) BeforeRequest(_ string, req *Command) error {
	if h.err != nil {
		return h.err
	}
	req.SetExt(aclAccessKey, h.creds.AccessKey)
	if h.creds.SecurityToken != "" {
		req.SetExt(aclSecurityToken, h.creds.SecurityToken)
	}
	req.SetExt(aclSignature, aclSign(req, h.creds.SecretKey))
	return nil
}

// AfterResponse implements RPCHook; it does nothing.
func (*ACLHook) AfterResponse(string, *Command, *Command, error) {}

// aclSign computes the signature of req as the broker recomputes it (Java
// DefaultAuthenticationContextBuilder.build and AclUtils.combineRequestContent): the broker holds
// the ext fields in a map, so a key sent twice counts once, with its last value, and a TreeMap
// orders the keys by UTF-16 code units.
func aclSign(req *codec.Command, secret string) string {
	fields := req.Fields()
	// A stable sort keeps wire order among equal keys, so the last of each run is the one the
	// broker's map keeps.
	slices.SortStableFunc(fields, func(a, b codec.Field) int { return compareUTF16(a.Key, b.Key) })
	n := 0
	for _, f := range fields {
		n += len(f.Value)
	}
	content := make([]byte, 0, n)
	for i, f := range fields {
		if i+1 < len(fields) && fields[i+1].Key == f.Key {
			continue // overridden by a later field with the same key
		}
		if f.Key == aclSignature || (f.Key == uniqueKeyQuery && req.Version <= versionV4_9_3) {
			continue
		}
		content = append(content, f.Value...)
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(content)
	mac.Write(req.Body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// compareUTF16 orders strings as Java's String.compareTo does, by UTF-16 code units. It differs
// from byte order only where a character above U+FFFF meets one in U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for i, j := 0, 0; ; {
		if i == len(a) || j == len(b) {
			switch {
			case i < len(a):
				return 1
			case j < len(b):
				return -1
			}
			return 0
		}
		if a[i] < utf8.RuneSelf && b[j] < utf8.RuneSelf {
			if a[i] != b[j] {
				return int(a[i]) - int(b[j])
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[j:])
		if ra == rb {
			i += na
			j += nb
			continue
		}
		if ua, ub := firstUnit(ra), firstUnit(rb); ua != ub {
			return int(ua) - int(ub)
		}
		return int(ra) - int(rb) // same high surrogate: the low ones order like the runes
	}
}

// firstUnit is the first UTF-16 code unit of r: r itself, or its high surrogate.
func firstUnit(r rune) rune {
	if r > 0xFFFF {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
