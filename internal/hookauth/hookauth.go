// Package hookauth checks that a webhook delivery (POST /hooks/{id}) comes from who holds the
// hook's secret. It imports only the standard library, so that its fuzz test
// (FuzzHookAuthentic) builds in seconds where, in actions, it built the whole Temporal server.
package hookauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// How a hook authenticates its deliveries (store.Hook.Auth).
const (
	HMAC   = "hmac"   // X-Trellis-Signature: sha256=HEX of the body
	Bearer = "bearer" // Authorization: Bearer SECRET
)

// Authentic checks a delivery's signature (mode HMAC: the X-Trellis-Signature header) or
// bearer secret (mode Bearer: the Authorization header) in constant time. Any other mode
// is refused.
func Authentic(mode, secret string, body []byte, signature, authorization string) bool {
	switch mode {
	case HMAC:
		sig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
		if !ok {
			return false
		}
		got, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		return hmac.Equal(got, Signature(secret, body))
	case Bearer:
		tok, ok := strings.CutPrefix(strings.TrimSpace(authorization), "Bearer ")
		if !ok {
			return false
		}
		// Hashes of equal length, so the comparison tells nothing of the secret's length.
		a, b := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256([]byte(secret))
		return subtle.ConstantTimeCompare(a[:], b[:]) == 1
	}
	return false
}

// Signature is HMAC-SHA256 of body with the secret: what X-Trellis-Signature carries as
// sha256=HEX.
func Signature(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
