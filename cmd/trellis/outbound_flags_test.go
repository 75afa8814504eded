package main

import (
	"errors"
	"slices"
	"testing"
)

func TestOutboundFlags(t *testing.T) {
	fs := newFlagSet("serve")
	var o outboundFlags
	o.register(fs)
	env := map[string]string{"TRELLIS_HTTP_ALLOW_PRIVATE": "1"}
	if err := parseFlags(fs, []string{"--http-allow", " 10.1.0.0/16, api.internal ,"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	p, err := o.policy("127.0.0.1:8080", "", urlHostPort("https://trellis.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowPrivate || !slices.Equal(p.Allow, []string{"10.1.0.0/16", "api.internal"}) ||
		!slices.Equal(p.Deny, []string{"127.0.0.1:8080", "trellis.example.com:443"}) {
		t.Errorf("policy = %+v", p)
	}
	o.allow = "10.0.0.0/99"
	var ue *usageError
	if _, err := o.policy(); !errors.As(err, &ue) {
		t.Errorf("a bad --http-allow: %v, want a usage error", err)
	}
	for in, want := range map[string]string{"http://h:9/x": "h:9", "http://h": "h:80", "https://[::1]": "[::1]:443", "nohost": ""} {
		if got := urlHostPort(in); got != want {
			t.Errorf("urlHostPort(%q) = %q, want %q", in, got, want)
		}
	}
}
