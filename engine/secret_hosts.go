package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ErrTypeSecretHost is the failure of an http node that would send a secret to a host the
// secret is not bound to; nothing was sent.
const ErrTypeSecretHost = "SecretHost"

// SecretHostSource is implemented by a SecretSource whose secrets may be bound to hosts
// (issue 18: a graph author could send any secret to any host). SecretHosts returns nil for
// a secret that may go anywhere.
type SecretHostSource interface {
	SecretHosts(ctx context.Context, name string) ([]string, error)
}

// HostAllowed reports whether host (as in a URL, any case, without port) is one of hosts: an
// exact name or address, or *.domain for any host below domain.
func HostAllowed(hosts []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	for _, h := range hosts {
		if h == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(h, "*."); ok && strings.HasSuffix(host, "."+suffix) {
			return true
		}
	}
	return false
}

// secretBindings are the host lists of the named secrets that are bound to hosts.
func secretBindings(ctx context.Context, src SecretSource, names []string) (map[string][]string, error) {
	hs, ok := src.(SecretHostSource)
	if !ok {
		return nil, nil
	}
	out := map[string][]string{}
	for _, n := range names {
		hosts, err := hs.SecretHosts(ctx, n)
		if err != nil && !errors.Is(err, ErrSecretNotFound) {
			return nil, fmt.Errorf("read the hosts of secret %q: %w", n, err)
		}
		if len(hosts) > 0 {
			out[n] = hosts
		}
	}
	return out, nil
}

// secretHostRefusal says which bound secret may not go to host, or "" when all may.
func secretHostRefusal(bound map[string][]string, host string) string {
	names := make([]string, 0, len(bound))
	for n := range bound {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !HostAllowed(bound[n], host) {
			return fmt.Sprintf("secret %s may be sent only to %s, not to %s (an admin sets a secret's hosts)",
				n, strings.Join(bound[n], ", "), host)
		}
	}
	return ""
}

// errSecretHostRedirect stops a redirect that would take a bound secret to another host.
type errSecretHostRedirect struct{ msg string }

func (e *errSecretHostRedirect) Error() string { return "redirect refused: " + e.msg }
