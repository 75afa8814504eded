// Package web serves the Trellis browser UI and the JSON API: routes, handlers, middleware and
// the error mapping. It declares the small interfaces it needs and is handed implementations by
// cmd; it never opens a database or dials Temporal itself.
package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
)

// UserStore is what web needs for users, sessions and API tokens (*store.DB implements it).
// Errors: store.ErrBadCredentials from Authenticate; store.ErrNotFound from SessionUser and
// TokenUser for an unknown or expired token, or a disabled user. UserAdmin is in users.go.
type UserStore interface {
	UserAdmin
	Authenticate(ctx context.Context, name, password string) (*store.User, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, error)
	SessionUser(ctx context.Context, token string) (*store.User, error)
	DeleteSession(ctx context.Context, token string) error
	TokenUser(ctx context.Context, token string) (*store.User, error)
}

// Config tunes the server. The zero value is usable.
type Config struct {
	// Dev marks a development server (the sign-in page says where the demo accounts are).
	Dev bool
	// SecureCookies sets the Secure flag on cookies and sends HSTS; leave it false on plain
	// http://127.0.0.1.
	SecureCookies bool
	// PublicURL is where people reach Trellis (serve --public-url), e.g. https://trellis.example
	// behind a proxy: addresses shown to users for use elsewhere (hook URLs) start with it.
	// Empty: the scheme and host the request came to.
	PublicURL string
	// Now is the clock (login rate limiting); default time.Now.
	Now func() time.Time
	// Logger receives request logs and internal errors; default discards.
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies unless a route sets its own; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// SessionTTL is how long a browser session lasts; default 12 hours.
	SessionTTL time.Duration
	// LiveInterval is how often a watched run is read when no hint says it changed
	// (run_events.go); default 5 s, or 2 s without Deps.Notifier.
	LiveInterval time.Duration
	// Metrics receives the request latency histogram; nil records none.
	Metrics prometheus.Registerer
	// ReadTimeout bounds reading a whole request, body included, so slow-body connections
	// cannot pile up; default 60 s. WriteTimeout bounds writing a response (an event stream
	// gets it afresh for every write: streamDeadlines); default 60 s. IdleTimeout ends
	// keep-alive connections left unused; default 120 s. See HTTPServer.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Quotas bound run inputs, waits and the runs one user starts a minute (actions.Quotas;
	// zero fields take the defaults).
	Quotas actions.Quotas
	// MCPWait is how long an MCP tool call waits for its run to end (mcp.go); default 30 s.
	MCPWait time.Duration
	// TrustedProxies are the reverse proxies (serve --trusted-proxy) whose X-Forwarded-For
	// gives the client's address, for the login limits and the logs. Empty: the peer's
	// address, which behind a proxy is the proxy's for everyone.
	TrustedProxies []*net.IPNet
	// MaxBulkRuns is the most runs one bulk action takes (serve --max-bulk-runs); default
	// actions.DefaultMaxBulkRuns.
	MaxBulkRuns int
}

// DefaultMaxBodyBytes fits a 2 MiB graph document plus the JSON around it.
const DefaultMaxBodyBytes = 2<<20 + 64<<10

// Deps are the services handlers use. Later features add fields here.
type Deps struct {
	// Users is required: every signed-in route reads the session through it.
	Users UserStore
	// Health reports whether the store and Temporal are reachable; nil means always healthy.
	Health func(ctx context.Context) error
	// Graphs stores graphs, drafts and versions (graph_*.go).
	Graphs GraphStore
	// Runs is the workflow engine: it starts, lists, reads, counts and cancels runs and takes
	// decisions (run_*.go); nil when the server is not connected to it.
	Runs Engine
	// Tasks stores the human tasks of approval nodes (task_*.go).
	Tasks TaskStore
	// Providers stores LLM providers and secrets for the admin pages (provider_*.go, secret_*.go).
	Providers ProviderStore
	// Notifier hints that a run may have changed, for the live pages; nil leaves them to
	// Config.LiveInterval.
	Notifier RunNotifier
	// Triggers stores webhooks and the schedules index (hook_*.go, schedule_*.go).
	Triggers actions.TriggerStore
	// Notifications keeps how people are told of tasks (notifications.go).
	Notifications NotificationAdmin
	// Worker gives workers on other machines secrets and providers (internal_*.go); nil
	// answers them 503.
	Worker WorkerSource
	// MCPServers stores the MCP servers for their admin page (mcp_servers.go); nil answers 503.
	MCPServers MCPServerStore
	// MCPTools lists a configured MCP server's tools, which publishing pins in agents'
	// MCP tools; nil refuses to publish a graph with MCP tools.
	MCPTools func(ctx context.Context, server string) ([]designer.MCPToolInfo, error)
}

// Server is the HTTP front end. Create it with New and serve Handler().
type Server struct {
	cfg  Config
	deps Deps
	// actions publish, start runs and decide, for the HTML and JSON handlers alike.
	actions *actions.Actions
	log     *slog.Logger
	echo    *echo.Echo
	logins  *loginLimiter
	// loginSlots bounds concurrent password checks (ratelimit.go).
	loginSlots loginSlots
	csrf       echo.MiddlewareFunc
	routes     []Route
	// latency is request latency by route; nil without Config.Metrics.
	latency *prometheus.HistogramVec
	// byKey finds a route by "METHOD path", for navigation links.
	byKey map[string]Route
	// live holds the event streams of the live pages (run_events.go).
	live *liveHub
}

// New builds the server and registers every route of the routes table.
func New(cfg Config, deps Deps) *Server {
	return newServer(cfg, deps, nil)
}

// newServer is New with extra routes, which tests use to mount handlers through the real
// middleware chain.
func newServer(cfg Config, deps Deps, extra []Route) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = 5 * time.Second
		if deps.Notifier == nil {
			cfg.LiveInterval = 2 * time.Second
		}
	}
	s := &Server{
		cfg:        cfg,
		deps:       deps,
		actions:    actions.New(deps.Graphs, deps.Tasks, deps.Runs, cfg.Logger),
		log:        cfg.Logger,
		logins:     newLoginLimiter(cfg.Now),
		loginSlots: newLoginSlots(),
		byKey:      map[string]Route{},
	}
	s.actions.SetQuotas(cfg.Quotas)
	if deps.MCPTools != nil {
		s.actions.SetMCPTools(deps.MCPTools)
	}
	if cfg.Metrics != nil {
		s.latency = newLatencyHistogram(cfg.Metrics)
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.streamDeadlines, s.logRequests, s.recoverPanics, s.secureHeaders)
	s.echo = e
	s.csrf = s.csrfMiddleware()
	s.live = newLiveHub(s)

	s.routes = append(s.routeTable(), extra...)
	for _, r := range s.routes {
		s.mount(r)
	}
	return s
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.echo }

// HTTPServer is the http.Server to serve Handler with: header, read, write and idle timeouts
// from Config, and event streams ended first on Shutdown (they never end by themselves, so
// Shutdown would otherwise wait for them).
func (s *Server) HTTPServer() *http.Server {
	hs := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: min(10*time.Second, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
	}
	hs.RegisterOnShutdown(s.CloseStreams)
	return hs
}

// Routes returns a copy of the routes table.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// clientIP reads the client's address. Without trusted proxies it is the peer's, so that a
// forged X-Forwarded-For cannot dodge the login limit. With them, it is the nearest address
// in X-Forwarded-For that is not one of them (echo's trust rules, with loopback and private
// networks trusted only when listed).
func clientIP(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
