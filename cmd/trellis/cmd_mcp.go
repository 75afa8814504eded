package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"trellis/engine"
	"trellis/store"
)

const (
	mcpSetSynopsis  = "mcp set NAME --url URL [--header-secret SECRET] [--data DIR]"
	mcpListSynopsis = "mcp list [--data DIR]"
	mcpRmSynopsis   = "mcp rm NAME [--data DIR]"
)

// runMCPSet configures an MCP server that agents' mcp tools call. Its tools are read when a
// graph using them is published, and pinned in that version.
func runMCPSet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("mcp set")
	data := fs.String("data", defaultDataDir, "data directory")
	url := fs.String("url", "", "the server's streamable HTTP endpoint, e.g. https://mcp.example.com/mcp")
	secret := fs.String("header-secret", "", "name of the Trellis secret sent as the server's bearer token (see 'trellis secret set'); none for an open server")
	if err := parseCommand(fs, args, stdout, mcpSetSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("mcp set: want one server name, got %d arguments; usage: trellis %s", fs.NArg(), mcpSetSynopsis)
	}
	if *url == "" {
		return usagef("mcp set: --url is required")
	}
	s := store.MCPServer{Name: fs.Arg(0), URL: *url, HeaderSecret: *secret}
	// Checked before the data dir is opened, so that a bad value writes nothing.
	if err := store.ValidateMCPServer(s); err != nil {
		return fmt.Errorf("mcp set: %w", err)
	}
	return withStore(ctx, "mcp set", *data, func(db *store.DB) error {
		if err := db.SetMCPServer(ctx, s); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "MCP server %s set: %s\n", s.Name, s.URL)
		if s.HeaderSecret != "" {
			if _, err := db.Secret(ctx, s.HeaderSecret); errors.Is(err, store.ErrNotFound) {
				fmt.Fprintf(stdout, "note: secret %s is not set yet; set it with: trellis secret set %s --value-stdin\n", s.HeaderSecret, s.HeaderSecret)
			}
		}
		return nil
	})
}

// runMCPList prints the configured MCP servers, one a line.
func runMCPList(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	return runList(ctx, "mcp list", mcpListSynopsis, args, stdout, table[store.MCPServer]{
		fetch:  (*store.DB).ListMCPServers,
		empty:  "no MCP servers; configure one with: trellis mcp set NAME --url https://mcp.example.com/mcp [--header-secret SECRET]",
		header: "NAME\tURL\tHEADER SECRET",
		row:    func(s store.MCPServer) string { return fmt.Sprintf("%s\t%s\t%s", s.Name, s.URL, dash(s.HeaderSecret)) },
	})
}

// runMCPRm removes an MCP server. Published versions keep their pinned tools; their calls
// fail naming the server until it is set again.
func runMCPRm(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("mcp rm")
	data := fs.String("data", defaultDataDir, "data directory")
	if err := parseCommand(fs, args, stdout, mcpRmSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("mcp rm: want one server name, got %d arguments; usage: trellis %s", fs.NArg(), mcpRmSynopsis)
	}
	return withStore(ctx, "mcp rm", *data, func(db *store.DB) error {
		if err := db.DeleteMCPServer(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "MCP server %s removed\n", fs.Arg(0))
		return nil
	})
}

// engineMCP gives the engine's MCP client the servers in the store (engine.Deps.MCPServers).
type engineMCP struct{ db *store.DB }

func (m engineMCP) MCPServer(ctx context.Context, name string) (*engine.MCPServerConfig, error) {
	s, err := m.db.GetMCPServer(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %v", engine.ErrMCPServerNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return &engine.MCPServerConfig{Name: s.Name, URL: s.URL, HeaderSecret: s.HeaderSecret}, nil
}

// MCPServer hands remote workers the MCP servers in the store (web.MCPWorkerSource).
func (w workerSource) MCPServer(ctx context.Context, name string) (*engine.MCPServerConfig, error) {
	return engineMCP{w.db}.MCPServer(ctx, name)
}

// MCPServer reads an MCP server through serve's internal API (engine.MCPServerSource).
func (s *serveClient) MCPServer(ctx context.Context, name string) (*engine.MCPServerConfig, error) {
	var m engine.MCPServerConfig
	err := s.get(ctx, "mcp-servers/"+url.PathEscape(name), &m)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: %v", engine.ErrMCPServerNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}
