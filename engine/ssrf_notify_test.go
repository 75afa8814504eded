package engine

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"trellis/internal/testsvc"
)

// TestNotificationWebhookGuarded: issue 16 found the outbound notification webhook posting to
// any address; it is held to the http node's policy (private addresses only when allowed).
func TestNotificationWebhookGuarded(t *testing.T) {
	var calls atomic.Int32
	recv := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	s := &NotifySettings{WebhookURL: recv.URL, BaseURL: "http://trellis.test"}
	n := Notice{Event: "created", TaskID: "t1", Title: "Refund"}
	err := postWebhook(context.Background(), &Deps{Outbound: &OutboundPolicy{}}, s, n)
	if _, ok := asBlocked(err); !ok || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("webhook to %s with the default policy = %v, want refused as loopback", recv.URL, err)
	}
	if calls.Load() != 0 {
		t.Fatalf("the receiver was called %d times despite the refusal", calls.Load())
	}
	for _, p := range []*OutboundPolicy{{AllowPrivate: true}, {Allow: []string{"127.0.0.1"}}} {
		if err := postWebhook(context.Background(), &Deps{Outbound: p}, s, n); err != nil {
			t.Fatalf("webhook with policy %+v: %v", *p, err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("receiver calls = %d, want 2", calls.Load())
	}
	// Trellis's own address is refused even with private addresses allowed.
	own := strings.TrimPrefix(recv.URL, "http://")
	own = own[:strings.Index(own, "/")]
	err = postWebhook(context.Background(), &Deps{Outbound: &OutboundPolicy{AllowPrivate: true, Deny: []string{own}}}, s, n)
	if be, ok := asBlocked(err); !ok || be.Reason != reasonOwn {
		t.Fatalf("webhook to an own address = %v, want refused", err)
	}
}
