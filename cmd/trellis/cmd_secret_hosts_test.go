package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestSecretSetHosts: trellis secret set binds a secret to hosts with its value or alone,
// keeps them when only the value changes, refuses a bad host, and * unbinds.
func TestSecretSetHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	hosts := func() []string {
		t.Helper()
		db := openData(t, dir)
		h, err := db.SecretHosts(context.Background(), "PAY_KEY")
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		return h
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"pk-1", []string{"--value-stdin", "--hosts", "api.pay.example,*.pay.example"}, 0, []string{"*.pay.example", "api.pay.example"}},
		{"pk-2", []string{"--value-stdin"}, 0, []string{"*.pay.example", "api.pay.example"}},
		{"", []string{"--hosts", "https://evil.example"}, 2, []string{"*.pay.example", "api.pay.example"}},
		{"", []string{"--hosts", ""}, 2, []string{"*.pay.example", "api.pay.example"}},
		{"", []string{"--hosts", "api.pay.example"}, 0, []string{"api.pay.example"}},
		{"", []string{"--hosts", "*"}, 0, nil},
	} {
		args := append([]string{"secret", "set", "PAY_KEY", "--data", dir}, c.args...)
		code, stdout, stderr := runCLI(t, c.stdin, args...)
		if code != c.code {
			t.Fatalf("%v: code %d, stdout %q, stderr %q", c.args, code, stdout, stderr)
		}
		if h := hosts(); !slices.Equal(h, c.want) {
			t.Fatalf("%v: hosts %v, want %v", c.args, h, c.want)
		}
	}
	if code, _, stderr := runCLI(t, "", "secret", "set", "NOPE", "--data", dir, "--hosts", "a.example"); code == 0 {
		t.Fatalf("hosts of a secret that is not set: accepted (%s)", stderr)
	}
}
