package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestSecretHosts: a secret may be bound to hosts (migration 0009); setting its value again
// keeps them, bad hosts are refused, and none means any host.
func TestSecretHosts(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	if err := db.SetSecretHosts(ctx, "NOPE", []string{"a.example"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("hosts of a missing secret: %v", err)
	}
	if err := db.SetSecret(ctx, "API_KEY", "v1"); err != nil {
		t.Fatal(err)
	}
	if h, err := db.SecretHosts(ctx, "API_KEY"); err != nil || h != nil {
		t.Fatalf("a new secret's hosts = %v, %v; want none (any host)", h, err)
	}
	if err := db.SetSecretHosts(ctx, "API_KEY", []string{" API.Example.com. ", "*.example.org", "10.0.0.1", "api.example.com", ""}); err != nil {
		t.Fatal(err)
	}
	want := []string{"*.example.org", "10.0.0.1", "api.example.com"}
	if err := db.SetSecret(ctx, "API_KEY", "v2"); err != nil {
		t.Fatal(err)
	}
	if h, err := db.SecretHosts(ctx, "API_KEY"); err != nil || !slices.Equal(h, want) {
		t.Fatalf("hosts after a new value = %v, %v; want %v", h, err, want)
	}
	if all, err := db.AllSecretHosts(ctx); err != nil || !slices.Equal(all["API_KEY"], want) {
		t.Fatalf("AllSecretHosts = %v, %v", all, err)
	}
	for _, bad := range []string{"https://api.example.com", "api.example.com:443", "api.example.com/path", "*.com", "a b", "user@host"} {
		if err := db.SetSecretHosts(ctx, "API_KEY", []string{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("host %q: %v, want ErrInvalid", bad, err)
		}
	}
	if err := db.SetSecretHosts(ctx, "API_KEY", nil); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.SecretHosts(ctx, "API_KEY"); h != nil {
		t.Fatalf("hosts after clearing = %v", h)
	}
}
