package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// MCPServerStore is what the MCP servers admin page needs of the store (*store.DB implements
// it). SetMCPServer returns store.ErrInvalid for a value it refuses, with a message safe to
// show; DeleteMCPServer store.ErrNotFound for an unknown name.
type MCPServerStore interface {
	ListMCPServers(ctx context.Context) ([]store.MCPServer, error)
	SetMCPServer(ctx context.Context, s store.MCPServer) error
	DeleteMCPServer(ctx context.Context, name string) error
	ListSecretNames(ctx context.Context) ([]string, error)
}

// mcpFormLimit bounds the admin form.
const mcpFormLimit = 16 << 10

// mcpListTimeout bounds asking a server for its tools from the page.
const mcpListTimeout = 20 * time.Second

func (s *Server) mcpServerRoutes() []Route {
	admin := []string{store.RoleAdmin}
	rows := []Route{
		{Method: http.MethodGet, Path: "/admin/mcp-servers", Roles: admin, Handler: s.mcpServerList},
		{Method: http.MethodPost, Path: "/admin/mcp-servers", Roles: admin, MaxBody: mcpFormLimit, Handler: s.mcpServerSave},
		{Method: http.MethodPost, Path: "/admin/mcp-servers/:name/delete", Roles: admin, MaxBody: mcpFormLimit, Handler: s.mcpServerDelete},
	}
	for i := range rows {
		h := rows[i].Handler
		rows[i].Handler = func(c echo.Context) error {
			if s.deps.MCPServers == nil {
				return NewError(http.StatusServiceUnavailable, "MCP server administration is not available on this server.")
			}
			return h(c)
		}
	}
	return rows
}

// mcpServerList shows the servers and the form; ?edit=NAME fills the form with one, and
// ?tools=NAME asks that server for its tools now.
func (s *Server) mcpServerList(c echo.Context) error {
	ctx := c.Request().Context()
	p, servers, err := s.mcpServersProps(ctx, templates.MCPServerForm{})
	if err != nil {
		return err
	}
	find := func(name string) int {
		return slices.IndexFunc(servers, func(m store.MCPServer) bool { return m.Name == name })
	}
	if name := c.QueryParam("edit"); name != "" {
		i := find(name)
		if i < 0 {
			return NewError(http.StatusNotFound, "MCP server "+strconv.Quote(name)+" is not configured.")
		}
		m := servers[i]
		p.Form = templates.MCPServerForm{Name: m.Name, URL: m.URL, HeaderSecret: m.HeaderSecret, Editing: m.Name}
		if m.HeaderSecret != "" && !slices.Contains(p.SecretNames, m.HeaderSecret) {
			p.SecretNames = append(p.SecretNames, m.HeaderSecret)
		}
	}
	if name := c.QueryParam("tools"); name != "" && find(name) >= 0 {
		s.mcpListTools(ctx, &p, name)
	}
	if saved := c.QueryParam("saved"); saved != "" && find(saved) >= 0 {
		p.Saved = saved
	}
	if deleted := c.QueryParam("deleted"); deleted != "" && find(deleted) < 0 && len(deleted) <= 32 && !strings.ContainsAny(deleted, "<>\"'&") {
		p.Deleted = deleted
	}
	return s.renderMCPServers(c, http.StatusOK, p)
}

// mcpListTools asks a server for its tools, as publishing would.
func (s *Server) mcpListTools(ctx context.Context, p *templates.AdminMCPServersProps, name string) {
	p.Listed = name
	if s.deps.MCPTools == nil {
		p.ToolsError = "This server cannot reach MCP servers."
		return
	}
	ctx, cancel := context.WithTimeout(ctx, mcpListTimeout)
	defer cancel()
	tools, err := s.deps.MCPTools(ctx, name)
	if err != nil {
		p.ToolsError = "MCP server " + name + " could not be asked for its tools: " + err.Error()
		return
	}
	for _, t := range tools {
		var schema any
		_ = json.Unmarshal(t.InputSchema, &schema)
		b, _ := json.MarshalIndent(schema, "", "  ")
		p.Tools = append(p.Tools, templates.MCPToolRow{Name: t.Name, Description: t.Description, Schema: string(b)})
	}
}

func (s *Server) mcpServersProps(ctx context.Context, form templates.MCPServerForm) (templates.AdminMCPServersProps, []store.MCPServer, error) {
	servers, err := s.deps.MCPServers.ListMCPServers(ctx)
	if err != nil {
		return templates.AdminMCPServersProps{}, nil, err
	}
	secrets, err := s.deps.MCPServers.ListSecretNames(ctx)
	if err != nil {
		return templates.AdminMCPServersProps{}, nil, err
	}
	p := templates.AdminMCPServersProps{Form: form, SecretNames: secrets}
	for _, m := range servers {
		p.Servers = append(p.Servers, templates.MCPServerRow{Name: m.Name, URL: m.URL, HeaderSecret: m.HeaderSecret,
			TokenSet: m.HeaderSecret == "" || slices.Contains(secrets, m.HeaderSecret)})
	}
	return p, servers, nil
}

// mcpServerSave adds or replaces a server; a value the store refuses comes back inline (422).
func (s *Server) mcpServerSave(c echo.Context) error {
	ctx := c.Request().Context()
	m := store.MCPServer{Name: strings.TrimSpace(c.FormValue("name")), URL: strings.TrimSpace(c.FormValue("url")),
		HeaderSecret: strings.TrimSpace(c.FormValue("header_secret"))}
	err := s.deps.MCPServers.SetMCPServer(ctx, m)
	if errors.Is(err, store.ErrInvalid) {
		form := templates.MCPServerForm{Name: m.Name, URL: m.URL, HeaderSecret: m.HeaderSecret, Errors: map[string]string{}}
		msg := err.Error()
		switch {
		case strings.Contains(msg, "name"):
			form.Errors["name"] = msg
		case strings.Contains(msg, "secret"):
			form.Errors["header_secret"] = msg
		default:
			form.Errors["url"] = msg
		}
		form.Error = "Nothing was saved. Correct the field marked below."
		p, _, perr := s.mcpServersProps(ctx, form)
		if perr != nil {
			return perr
		}
		return s.renderMCPServers(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	s.log.Info("MCP server saved", slog.String("server", m.Name), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/mcp-servers?"+url.Values{"saved": {m.Name}}.Encode())
}

// mcpServerDelete removes a server. Versions keep their pinned tools; their calls fail naming
// the server until it is configured again, so the list asks before deleting (data-confirm).
func (s *Server) mcpServerDelete(c echo.Context) error {
	name := c.Param("name")
	if err := s.deps.MCPServers.DeleteMCPServer(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("MCP server deleted", slog.String("server", name), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/mcp-servers?"+url.Values{"deleted": {name}}.Encode())
}

func (s *Server) renderMCPServers(c echo.Context, status int, p templates.AdminMCPServersProps) error {
	return Render(c, status, templates.Page{Title: "MCP servers", Section: "/admin/users", Body: templates.AdminMCPServers(p)})
}
