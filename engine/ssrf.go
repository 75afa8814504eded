package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrTypeHTTPBlocked is the failure of an http node whose connection the outbound policy
// refused; it is not retried, as the address will not change its nature.
const ErrTypeHTTPBlocked = "HTTPBlocked"

// OutboundPolicy says where http nodes may connect (issue 18: they reached loopback, private
// and cloud metadata addresses). Every connection is checked when it is made, after DNS
// resolution, so a name that resolves to a private address is refused as the address is, and
// so is every redirect, which makes its own connection.
type OutboundPolicy struct {
	// AllowPrivate lets nodes reach loopback, private, link-local and other non-public
	// addresses (serve --http-allow-private, for local development and tests).
	AllowPrivate bool
	// Allow lists hosts (exact names, as written in the url) and CIDR prefixes that may be
	// reached even though they are not public (serve --http-allow).
	Allow []string
	// Deny lists host:port addresses refused always, whatever else says: Trellis's own
	// listen addresses and the Temporal frontend. A host of 0.0.0.0 or :: stands for every
	// address of this machine.
	Deny []string
}

// BlockedError is a connection the policy refused.
type BlockedError struct {
	Host   string
	Addr   netip.AddrPort
	Reason string
}

func (e *BlockedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != e.Addr.Addr().String() {
		what = fmt.Sprintf("%s (%s)", e.Host, e.Addr)
	}
	msg := fmt.Sprintf("refused to connect to %s: %s", what, e.Reason)
	if e.Reason != reasonOwn {
		msg += "; an administrator may allow it with serve --http-allow HOST|CIDR or --http-allow-private"
	}
	return msg
}

const reasonOwn = "it is Trellis's own address or its Temporal frontend"

// outboundGuard is a checked OutboundPolicy.
type outboundGuard struct {
	allowPrivate bool
	prefixes     []netip.Prefix
	hosts        map[string]bool
	deny         map[netip.AddrPort]bool
	// denyPorts are ports refused on every address of this machine (a 0.0.0.0 listener).
	denyPorts map[uint16]bool
	local     map[netip.Addr]bool
}

// notPublic are ranges that are not the public internet besides what netip classifies:
// shared address space (carrier NAT, and Alibaba's metadata at 100.100.100.200), "this
// network", IETF protocol assignments, benchmarking, reserved, NAT64 and 6to4 (which embed
// IPv4 addresses), documentation.
var notPublic = mustPrefixes("0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001:db8::/32",
	"100::/64", "2001::/32")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// newOutboundGuard checks p; an entry that is neither a host nor a CIDR is an error.
func newOutboundGuard(p OutboundPolicy) (*outboundGuard, error) {
	g := &outboundGuard{allowPrivate: p.AllowPrivate, hosts: map[string]bool{}, deny: map[netip.AddrPort]bool{},
		denyPorts: map[uint16]bool{}, local: map[netip.Addr]bool{}}
	for _, a := range p.Allow {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if strings.Contains(a, "/") {
			pfx, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("--http-allow %q is not a CIDR prefix such as 10.1.0.0/16", a)
			}
			g.prefixes = append(g.prefixes, pfx.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
			g.prefixes = append(g.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		if strings.ContainsAny(a, " :@?#") {
			return nil, fmt.Errorf("--http-allow %q is not a host name, an address or a CIDR prefix", a)
		}
		g.hosts[strings.ToLower(strings.TrimSuffix(a, "."))] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				g.local[pfx.Addr().Unmap()] = true
			}
		}
	}
	for _, d := range p.Deny {
		if err := g.addDeny(d); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *outboundGuard) addDeny(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("own address %q: %w", hostport, err)
	}
	pn, err := net.LookupPort("tcp", port)
	if err != nil {
		return fmt.Errorf("own address %q: %w", hostport, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		g.deny[netip.AddrPortFrom(ip.Unmap(), uint16(pn))] = true
		return nil
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		g.denyPorts[uint16(pn)] = true
		return nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil {
		// Unresolvable now: refuse the port everywhere on this machine rather than nowhere.
		g.denyPorts[uint16(pn)] = true
		return nil //nolint:nilerr
	}
	for _, ip := range ips {
		g.deny[netip.AddrPortFrom(ip.Unmap(), uint16(pn))] = true
	}
	return nil
}

// check says whether a connection to ap, for the url host host, is allowed.
func (g *outboundGuard) check(host string, ap netip.AddrPort) error {
	ip := ap.Addr().Unmap()
	ap = netip.AddrPortFrom(ip, ap.Port())
	onThisMachine := ip.IsLoopback() || ip.IsUnspecified() || g.local[ip]
	if g.deny[ap] || (g.denyPorts[ap.Port()] && onThisMachine) || (onThisMachine && g.denyLoopback(ap.Port())) {
		return &BlockedError{Host: host, Addr: ap, Reason: reasonOwn}
	}
	reason := nonPublicReason(ip)
	if reason == "" || g.allowPrivate || g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return nil
	}
	for _, p := range g.prefixes {
		if p.Contains(ip) {
			return nil
		}
	}
	return &BlockedError{Host: host, Addr: ap, Reason: reason}
}

// denyLoopback: an own address on loopback is refused on every loopback address with that
// port, since 127.0.0.1 and localhost name the same listener.
func (g *outboundGuard) denyLoopback(port uint16) bool {
	for d := range g.deny {
		if d.Port() == port && d.Addr().IsLoopback() {
			return true
		}
	}
	return false
}

// nonPublicReason says why ip is not a public address, or "" when it is.
func nonPublicReason(ip netip.Addr) string {
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata lives there)"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return "not a public address (" + p.String() + ")"
		}
	}
	return ""
}

// dialContext dials through a net.Dialer whose Control checks the address it is about to
// connect to, after DNS resolution, for each address tried.
func (g *outboundGuard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refused to connect to %s: not an IP address and port", address)
			}
			return g.check(host, ap)
		}}
	return d.DialContext(ctx, network, addr)
}

// transport is a copy of the default transport that dials through the guard. It uses no
// proxy: a proxy would resolve and connect for us, past the check.
func (g *outboundGuard) transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.dialContext
	return t
}

// asBlocked finds a BlockedError in err.
func asBlocked(err error) (*BlockedError, bool) {
	var be *BlockedError
	ok := errors.As(err, &be)
	return be, ok
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *http.Request) bool {
	return a.URL.Scheme == b.URL.Scheme && strings.EqualFold(a.URL.Host, b.URL.Host)
}

// stripOnCrossOrigin removes, from a redirect to another origin than the first request's,
// the Referer (it carries the first url, query and all) and every header holding a secret
// in any form redact knows (issue 18: X-Api-Key: {{ secrets.S1 }} followed a redirect to
// another host). Go drops Authorization and Cookie itself, not custom headers.
func stripOnCrossOrigin(req *http.Request, via []*http.Request, hasSecret func(string) bool) {
	if len(via) == 0 || sameOrigin(req, via[0]) {
		return
	}
	req.Header.Del("Referer")
	for name, vals := range req.Header {
		for _, v := range vals {
			if hasSecret(v) {
				req.Header.Del(name)
				break
			}
		}
	}
}

// Check reports an Allow or Deny entry that is not a host, address or CIDR prefix.
func (p OutboundPolicy) Check() error {
	_, err := newOutboundGuard(p)
	return err
}
