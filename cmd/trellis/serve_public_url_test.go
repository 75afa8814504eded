package main

import (
	"errors"
	"testing"
)

// --public-url https://… turns on Secure cookies and HSTS (issue 18: there was no way to).
func TestParsePublicURL(t *testing.T) {
	for _, tt := range []struct {
		in     string
		secure bool
		bad    bool
	}{
		{"", false, false},
		{"http://127.0.0.1:8080", false, false},
		{"https://trellis.example.com", true, false},
		{"https://trellis.example.com/base/", true, false},
		{"ftp://trellis.example.com", false, true},
		{"trellis.example.com", false, true},
		{"https://user:pw@trellis.example.com", false, true},
		{"https://", false, true},
	} {
		secure, err := parsePublicURL(tt.in)
		var ue *usageError
		if tt.bad != (err != nil) || (err != nil && !errors.As(err, &ue)) {
			t.Errorf("parsePublicURL(%q) error = %v, want bad=%v (a usage error)", tt.in, err, tt.bad)
		}
		if secure != tt.secure {
			t.Errorf("parsePublicURL(%q) secure = %v, want %v", tt.in, secure, tt.secure)
		}
	}
}
