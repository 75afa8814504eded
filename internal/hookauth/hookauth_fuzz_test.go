package hookauth

import (
	"crypto/hmac"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzHookAuthentic: a webhook delivery is accepted only with the body's HMAC under the
// hook's secret (hmac) or the secret itself (bearer), and always with them; malformed headers
// never panic.
func FuzzHookAuthentic(f *testing.F) {
	f.Add("s3cret", []byte(`{"name":"Ada"}`), "sha256=00", "Bearer s3cret")
	f.Add("k", []byte{}, "sha256=", "Bearer ")
	f.Add("0123456789abcdef", []byte(`[1,2,3]`), "SHA256=zz", "bearer 0123456789abcdef")
	f.Add("x", []byte("\x00\xff"), "sha256="+strings.Repeat("a", 64), "Bearer  x ")
	f.Fuzz(func(t *testing.T, secret string, body []byte, sig, authz string) {
		want := Signature(secret, body)
		if Authentic(HMAC, secret, body, sig, authz) {
			got, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="))
			if err != nil || !hmac.Equal(got, want) {
				t.Fatalf("signature %q accepted for a body whose HMAC is %x", sig, want)
			}
		}
		if !Authentic(HMAC, secret, body, "sha256="+hex.EncodeToString(want), "") {
			t.Fatalf("the right signature was refused")
		}
		if Authentic(Bearer, secret, body, sig, authz) {
			tok, ok := strings.CutPrefix(strings.TrimSpace(authz), "Bearer ")
			if !ok || strings.TrimSpace(tok) != secret {
				t.Fatalf("Authorization %q accepted for secret %q", authz, secret)
			}
		}
		if secret == strings.TrimSpace(secret) && secret != "" && !Authentic(Bearer, secret, nil, "", "Bearer "+secret) {
			t.Fatalf("the right bearer secret was refused")
		}
		if Authentic("none", secret, body, sig, authz) {
			t.Fatalf("an unknown auth mode accepted a delivery")
		}
	})
}
