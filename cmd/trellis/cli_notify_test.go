package main

import (
	"context"
	"strings"
	"testing"

	"trellis/store"
)

func TestNotifySet(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "s3cret\n", "notify", "set", "--data", dir, "--smtp-host", "mail.example.com", "--smtp-port", "465",
		"--smtp-security", "tls", "--smtp-user", "trellis", "--password-stdin", "--from", "trellis@example.com", "--base-url", "https://trellis.example.com")
	if code != 0 || !strings.Contains(out, "notification settings saved") || strings.Contains(out+errOut, "s3cret") {
		t.Fatalf("notify set: %d %q %q", code, out, errOut)
	}
	// Only the flags given change.
	if code, _, errOut := runCLI(t, "", "notify", "set", "--data", dir, "--webhook-url", "https://chat.example.com/hook"); code != 0 {
		t.Fatalf("notify set --webhook-url: %d %s", code, errOut)
	}
	db := openData(t, dir)
	s, err := db.GetNotifySettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.SMTPHost != "mail.example.com" || s.SMTPPort != 465 || s.SMTPSecurity != "tls" || !s.PasswordSet || s.WebhookURL != "https://chat.example.com/hook" {
		t.Fatalf("settings: %+v", s)
	}
	if pw, err := db.Secret(context.Background(), store.SMTPPasswordSecret); err != nil || pw != "s3cret" {
		t.Fatalf("password secret: %q, %v", pw, err)
	}
	for name, args := range map[string][]string{
		"bad security": {"--smtp-security", "ssl"},
		"bad port":     {"--smtp-port", "0"},
		"bad sender":   {"--from", "nobody"},
		"both stdin":   {"--password-stdin", "--webhook-secret-stdin"},
	} {
		if code, _, _ := runCLI(t, "x\n", append([]string{"notify", "set", "--data", dir}, args...)...); code == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}
