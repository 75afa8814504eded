package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// MCPServer is an MCP server that agents' mcp tools call, by name. It holds the name of the
// secret whose value is its bearer token, never the token.
type MCPServer struct {
	Name         string    `json:"name"`
	URL          string    `json:"url"`
	HeaderSecret string    `json:"header_secret"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// mcpServerName is designer.MCPServerNamePattern (the store does not import designer).
var mcpServerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// maxMCPURLLength bounds a server's URL.
const maxMCPURLLength = 2000

// normalizeMCPServer checks s; errors are ErrInvalid.
func normalizeMCPServer(s MCPServer) (MCPServer, error) {
	if !mcpServerName.MatchString(s.Name) {
		return s, invalidf("MCP server name %q is not valid: use 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter", s.Name)
	}
	s.URL = strings.TrimSpace(s.URL)
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		return s, invalidf("MCP server %s needs a URL (its streamable HTTP endpoint, such as https://mcp.example.com/mcp)", s.Name)
	case len(s.URL) > maxMCPURLLength:
		return s, invalidf("the URL of MCP server %s is too long: use at most %d characters", s.Name, maxMCPURLLength)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return s, invalidf("the URL of MCP server %s must be an http or https URL, not %q", s.Name, s.URL)
	case u.User != nil:
		return s, invalidf("the URL of MCP server %s must not hold a user or password: put the token in a secret (--header-secret)", s.Name)
	}
	if s.HeaderSecret != "" && !secretNamePattern.MatchString(s.HeaderSecret) {
		return s, invalidf("secret name %q is not valid", s.HeaderSecret)
	}
	return s, nil
}

// SetMCPServer creates or replaces an MCP server.
func (db *DB) SetMCPServer(ctx context.Context, s MCPServer) error {
	s, err := normalizeMCPServer(s)
	if err != nil {
		return err
	}
	now := db.nowNanos()
	_, err = db.db.ExecContext(ctx, `INSERT INTO mcp_servers (name, url, header_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET url = excluded.url, header_secret = excluded.header_secret, updated_at = excluded.updated_at`,
		s.Name, s.URL, s.HeaderSecret, now, now)
	if err != nil {
		return fmt.Errorf("set MCP server %s: %w", s.Name, err)
	}
	return nil
}

// GetMCPServer returns the server of that name, or ErrNotFound.
func (db *DB) GetMCPServer(ctx context.Context, name string) (*MCPServer, error) {
	row := db.db.QueryRowContext(ctx, `SELECT name, url, header_secret, updated_at FROM mcp_servers WHERE name = ?`, name)
	s, err := scanMCPServer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("MCP server %q is not configured", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get MCP server %s: %w", name, err)
	}
	return s, nil
}

// ListMCPServers lists the servers by name.
func (db *DB) ListMCPServers(ctx context.Context) ([]MCPServer, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name, url, header_secret, updated_at FROM mcp_servers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list MCP servers: %w", err)
	}
	defer rows.Close()
	out := []MCPServer{}
	for rows.Next() {
		s, err := scanMCPServer(rows)
		if err != nil {
			return nil, fmt.Errorf("list MCP servers: %w", err)
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

// DeleteMCPServer removes a server; ErrNotFound when there is none. Versions that use it keep
// their pinned tools, and their calls fail naming it until it is configured again.
func (db *DB) DeleteMCPServer(ctx context.Context, name string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM mcp_servers WHERE name = ?`, name)
	return affectedOne(res, err, "delete MCP server "+name, func() error { return notFoundf("MCP server %q is not configured", name) })
}

func scanMCPServer(row interface{ Scan(...any) error }) (*MCPServer, error) {
	var s MCPServer
	var updated int64
	if err := row.Scan(&s.Name, &s.URL, &s.HeaderSecret, &updated); err != nil {
		return nil, err
	}
	s.UpdatedAt = time.Unix(0, updated).UTC()
	return &s, nil
}

// ValidateMCPServer returns an ErrInvalid error when SetMCPServer would refuse s.
func ValidateMCPServer(s MCPServer) error {
	_, err := normalizeMCPServer(s)
	return err
}
