package main

import (
	"net"
	"net/url"
	"strings"

	"trellis/engine"
)

// outboundFlags are the flags serve and worker share for where http nodes may connect
// (engine.OutboundPolicy): by default only public addresses.
type outboundFlags struct {
	allowPrivate bool
	allow        string
}

func (o *outboundFlags) register(fs *flagSet) {
	fs.BoolVar(&o.allowPrivate, "http-allow-private", false, "let http nodes reach loopback, private and link-local addresses (local development and tests; never Trellis's own addresses)")
	fs.StringVar(&o.allow, "http-allow", "", "hosts and CIDR prefixes http nodes may reach although not public, comma-separated: HOST|CIDR,…")
}

// policy is the policy the flags say, refusing always the deny addresses (host:port: our own
// listeners and the Temporal frontend); a bad --http-allow entry is a usage error.
func (o *outboundFlags) policy(deny ...string) (*engine.OutboundPolicy, error) {
	p := &engine.OutboundPolicy{AllowPrivate: o.allowPrivate}
	for _, a := range strings.Split(o.allow, ",") {
		if a = strings.TrimSpace(a); a != "" {
			p.Allow = append(p.Allow, a)
		}
	}
	for _, d := range deny {
		if d != "" {
			p.Deny = append(p.Deny, d)
		}
	}
	if err := p.Check(); err != nil {
		return nil, usagef("%v", err)
	}
	return p, nil
}

// urlHostPort is the host:port a URL reaches (the scheme's port when none is written), or ""
// for a URL without a host.
func urlHostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
