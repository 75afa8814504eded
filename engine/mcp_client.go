package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"trellis/designer"
	"trellis/internal/redaction"
)

// MCPServerConfig is an MCP server an admin configured: its streamable HTTP endpoint, and the
// secret whose value is sent as its bearer token ("" for none).
type MCPServerConfig struct {
	Name         string `json:"name"`
	URL          string `json:"url"`
	HeaderSecret string `json:"header_secret"`
}

// MCPServerSource gives agents' MCP tools their server; an unknown name is an error
// wrapping ErrMCPServerNotFound.
type MCPServerSource interface {
	MCPServer(ctx context.Context, name string) (*MCPServerConfig, error)
}

// ErrMCPServerNotFound is wrapped by MCPServerSource implementations.
var ErrMCPServerNotFound = errors.New("MCP server not found")

// MCPTool is a tool an MCP server lists: what publishing pins in an agent's config.
type MCPTool = designer.MCPToolInfo

// ErrTypeMCP is the failure of a call to an MCP server (unreachable, refused, misconfigured).
const ErrTypeMCP = "MCP"

// mcpCallTimeout bounds one tool call, connection and all.
const mcpCallTimeout = 2 * time.Minute

// MCPClient talks to configured MCP servers over streamable HTTP, through the outbound
// policy's dialer like an http node, with the server's bearer secret.
type MCPClient struct {
	servers MCPServerSource
	secrets SecretSource
	base    *http.Client
}

// NewMCPClient is a client for the servers of src; outbound nil allows every address.
func NewMCPClient(src MCPServerSource, secrets SecretSource, outbound *OutboundPolicy) (*MCPClient, error) {
	c := &http.Client{}
	if outbound != nil {
		g, err := newOutboundGuard(*outbound)
		if err != nil {
			return nil, err
		}
		c.Transport = g.transport()
	}
	return &MCPClient{servers: src, secrets: secrets, base: c}, nil
}

// bearer adds the server's token to each request, and only to the server's own origin.
type bearer struct {
	next   http.RoundTripper
	token  string
	origin string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token != "" && r.URL.Scheme+"://"+r.URL.Host == b.origin {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}

// session connects to a server by name. redact hides the token in error messages.
func (c *MCPClient) session(ctx context.Context, name string) (*mcp.ClientSession, func(string) string, error) {
	redact := func(s string) string { return s }
	if c.servers == nil {
		return nil, redact, fmt.Errorf("no MCP servers are configured (trellis mcp set %s --url …)", name)
	}
	cfg, err := c.servers.MCPServer(ctx, name)
	if err != nil {
		return nil, redact, err
	}
	token := ""
	if cfg.HeaderSecret != "" {
		if c.secrets == nil {
			return nil, redact, fmt.Errorf("MCP server %s: no secret store for its secret %s", name, cfg.HeaderSecret)
		}
		if token, err = c.secrets.Secret(ctx, cfg.HeaderSecret); err != nil {
			return nil, redact, fmt.Errorf("MCP server %s: secret %s: %w", name, cfg.HeaderSecret, err)
		}
		redact = redaction.New(map[string]any{"token": token})
	}
	next := c.base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, redact, fmt.Errorf("MCP server %s: url %q is not an http(s) URL", name, cfg.URL)
	}
	origin := u.Scheme + "://" + u.Host
	hc := *c.base
	hc.Transport = bearer{next: next, token: token, origin: origin}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client := mcp.NewClient(&mcp.Implementation{Name: "trellis", Version: "1"}, nil)
	s, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: cfg.URL, HTTPClient: &hc, MaxRetries: -1,
		DisableStandaloneSSE: true}, nil)
	if err != nil {
		return nil, redact, redactedError{msg: redact(fmt.Sprintf("MCP server %s (%s): %v", name, cfg.URL, err)), err: err}
	}
	return s, redact, nil
}

// Tools lists a server's tools, in its order.
func (c *MCPClient) Tools(ctx context.Context, server string) ([]MCPTool, error) {
	s, redact, err := c.session(ctx, server)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []MCPTool
	for t, err := range s.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("MCP server %s: list tools: %s", server, redact(err.Error()))
		}
		schema, err := json.Marshal(t.InputSchema)
		if err != nil || t.InputSchema == nil {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		out = append(out, MCPTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return out, nil
}

// mcpOutcome is a call's result: what goes back to the model, and whether the tool said it failed.
type mcpOutcome struct {
	Content any  `json:"content"`
	IsError bool `json:"is_error,omitempty"`
}

// call runs one tool. A server that answered with an error (a tool error, or a protocol
// error such as an unknown tool) is an outcome for the model; one that could not be
// reached is an error.
func (c *MCPClient) call(ctx context.Context, server, tool string, args any) (mcpOutcome, error) {
	s, redact, err := c.session(ctx, server)
	if err != nil {
		return mcpOutcome{}, err
	}
	defer s.Close()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	var wire *jsonrpc.Error
	if errors.As(err, &wire) {
		return mcpOutcome{Content: redact(wire.Message), IsError: true}, nil
	}
	if err != nil {
		return mcpOutcome{}, redactedError{msg: redact(fmt.Sprintf("MCP server %s: call %s: %v", server, tool, err)), err: err}
	}
	return mcpOutcome{Content: redactValue(mcpContent(res), redact), IsError: res.IsError}, nil
}

// mcpContent is a result as the model reads it: the structured content when there is one,
// else the text (several texts as a list), else the content blocks as JSON.
func mcpContent(res *mcp.CallToolResult) any {
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		var v any
		if err == nil && json.Unmarshal(b, &v) == nil {
			return v
		}
	}
	var texts []any
	for _, c := range res.Content {
		t, ok := c.(*mcp.TextContent)
		if !ok {
			b, _ := json.Marshal(res.Content)
			var v any
			_ = json.Unmarshal(b, &v)
			return v
		}
		texts = append(texts, t.Text)
	}
	if len(texts) == 1 {
		return texts[0]
	}
	return texts
}

// redactedError is an error whose message has its secrets hidden, keeping the chain for
// errors.As (a connection the outbound policy refused).
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }
