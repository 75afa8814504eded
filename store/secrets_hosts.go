package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// MaxSecretHosts bounds the hosts one secret may be bound to.
const MaxSecretHosts = 50

// hostLabel is a DNS name: labels of letters, digits and '-', dot-separated.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeSecretHosts checks a secret's hosts and returns them lowercase, sorted and without
// repeats. Each is a host name (api.example.com), an IP address, or *.domain for any host
// below the domain (not the domain itself). Errors are ErrInvalid.
func NormalizeSecretHosts(hosts []string) ([]string, error) {
	var out []string
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if h == "" {
			continue
		}
		bare := strings.TrimPrefix(h, "*.")
		if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			h = ip.Unmap().String()
		} else if len(bare) > 253 || !hostName.MatchString(bare) || !strings.Contains(bare, ".") && h != bare {
			return nil, invalidf("host %q is not a host name, an IP address or *.domain (no scheme, port or path)", h)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(out) > MaxSecretHosts {
		return nil, invalidf("a secret may be bound to at most %d hosts", MaxSecretHosts)
	}
	slices.Sort(out)
	return out, nil
}

// SetSecretHosts binds a secret to hosts (none: any host). Errors: ErrNotFound for a secret
// that is not set; ErrInvalid for a host NormalizeSecretHosts refuses.
func (db *DB) SetSecretHosts(ctx context.Context, name string, hosts []string) error {
	hosts, err := NormalizeSecretHosts(hosts)
	if err != nil {
		return err
	}
	res, err := db.db.ExecContext(ctx, `UPDATE secrets SET hosts = ?, updated_at = ? WHERE name = ?`, strings.Join(hosts, ","), db.nowNanos(), name)
	return affectedOne(res, err, "set the hosts of secret "+name, func() error { return notFoundf("secret %s is not set", name) })
}

// SecretHosts are the hosts a secret may be sent to; nil means any host. ErrNotFound for a
// secret that is not set.
func (db *DB) SecretHosts(ctx context.Context, name string) ([]string, error) {
	var hosts string
	err := db.db.QueryRowContext(ctx, `SELECT hosts FROM secrets WHERE name = ?`, name).Scan(&hosts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("secret %s is not set", name)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return splitHosts(hosts), nil
}

// AllSecretHosts are the host lists of every secret bound to hosts, by name, for the admin page.
func (db *DB) AllSecretHosts(ctx context.Context) (map[string][]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name, hosts FROM secrets WHERE hosts != ''`)
	if err != nil {
		return nil, fmt.Errorf("list secret hosts: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name, hosts string
		if err := rows.Scan(&name, &hosts); err != nil {
			return nil, fmt.Errorf("list secret hosts: %w", err)
		}
		out[name] = splitHosts(hosts)
	}
	return out, rows.Err()
}

func splitHosts(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
