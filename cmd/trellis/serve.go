package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"trellis/actions"
	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
	"trellis/web"
)

// temporalFlags are the flags serve and worker share for reaching Temporal.
type temporalFlags struct {
	address, namespace     string
	tlsCert, tlsKey, tlsCA string
	apiKeyFile             string
	listen, uiAddr         string
	embeddedAllowed        bool
}

func (tf *temporalFlags) register(fs *flagSet, embedded bool) {
	fs.StringVar(&tf.address, "temporal-address", "", "host:port of an existing Temporal cluster (default: start an embedded server)")
	fs.StringVar(&tf.namespace, "temporal-namespace", engine.Namespace, "Temporal namespace")
	fs.StringVar(&tf.tlsCert, "temporal-tls-cert", "", "client certificate for mTLS")
	fs.StringVar(&tf.tlsKey, "temporal-tls-key", "", "client key for mTLS")
	fs.StringVar(&tf.tlsCA, "temporal-tls-ca", "", "CA certificate for the server")
	fs.StringVar(&tf.apiKeyFile, "temporal-api-key-file", "", "file holding a Temporal Cloud API key")
	if embedded {
		fs.StringVar(&tf.listen, "temporal-listen", "", "host:port for the embedded Temporal frontend (default: a free port on 127.0.0.1)")
		fs.StringVar(&tf.uiAddr, "temporal-ui-addr", "", "host:port to serve the Temporal Web UI for the embedded server (default: off)")
	}
	tf.embeddedAllowed = embedded
}

func (tf *temporalFlags) check() error {
	if tf.address == "" && (tf.secured() || tf.tlsKey != "") {
		return errors.New("--temporal-tls-* and --temporal-api-key-file need --temporal-address")
	}
	if (tf.tlsCert == "") != (tf.tlsKey == "") {
		return errors.New("--temporal-tls-cert and --temporal-tls-key go together")
	}
	if tf.address != "" && (tf.listen != "" || tf.uiAddr != "") {
		return errors.New("--temporal-listen and --temporal-ui-addr are for the embedded server; drop them with --temporal-address")
	}
	if tf.uiAddr != "" {
		if _, _, err := checkUIAddr(tf.uiAddr); err != nil {
			return err
		}
	}
	return nil
}

// secured says the flags bring the cluster's own TLS or API key; without them a client of
// serve's embedded frontend sends the credential derived from the data dir.
func (tf *temporalFlags) secured() bool {
	return tf.tlsCert != "" || tf.tlsCA != "" || tf.apiKeyFile != ""
}

// clientOptions builds the SDK's options for a remote cluster.
func (tf *temporalFlags) clientOptions(logger *slog.Logger) (client.Options, error) {
	opts := client.Options{HostPort: tf.address, Namespace: tf.namespace, Logger: engine.NewSDKLogger(logger.With("component", "temporal-sdk"))}
	if tf.secured() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if tf.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(tf.tlsCert, tf.tlsKey)
			if err != nil {
				return opts, fmt.Errorf("load --temporal-tls-cert/--temporal-tls-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if tf.tlsCA != "" {
			pem, err := os.ReadFile(tf.tlsCA)
			if err != nil {
				return opts, fmt.Errorf("read --temporal-tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return opts, fmt.Errorf("--temporal-tls-ca %s holds no PEM certificate", tf.tlsCA)
			}
			tc.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = tc
	}
	if tf.apiKeyFile != "" {
		key, err := os.ReadFile(tf.apiKeyFile)
		if err != nil {
			return opts, fmt.Errorf("read --temporal-api-key-file: %w", err)
		}
		opts.Credentials = client.NewAPIKeyStaticCredentials(strings.TrimSpace(string(key)))
	}
	return opts, nil
}

type serveFlags struct {
	addr, data      string
	publicURL       string
	trustedProxy    string       // --trusted-proxy as given
	proxies         []*net.IPNet // and parsed
	quotas          actions.Quotas
	maxBulkRuns     int
	maxMapItems     int
	runCache        int
	outbound        outboundFlags
	workerTokenFile string
	dev, remoteOnly bool
	retention       time.Duration
	temporal        temporalFlags
	observe         observeFlags
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, secure, err := parseServeFlags(args, stdout)
	if err != nil {
		return err
	}
	engine.SetRunCache(f.runCache) // before the embedded server, whose workers make the cache
	logger, err := f.observe.logger(stderr)
	if err != nil {
		return err
	}
	met, err := f.observe.startMetrics(logger, stdout)
	if err != nil {
		return err
	}
	defer met.close()

	// Before the data dir: a bad token file is a mistake in how serve was called.
	workerTokens, err := f.workerTokens(stdout)
	if err != nil {
		return err
	}

	release, err := store.AcquireDataDir(f.data)
	if err != nil {
		return err
	}
	defer release()

	db, err := store.OpenDataDir(ctx, f.data, store.Options{BcryptCost: bcryptCost})
	if err != nil {
		return err
	}
	defer db.Close()
	decisionKey, err := loadDecisionKey(f.data)
	if err != nil {
		return err
	}

	var devLogins []devLogin
	if f.dev {
		devLogins, err = seedDev(ctx, db)
		if err != nil {
			return fmt.Errorf("dev data: %w", err)
		}
	}

	// Listen before starting Temporal so that a taken port fails fast and cleanly.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	defer ln.Close()

	// The embedded frontend's credential, for serve and the workers it says hello to.
	var frontendToken string
	if f.temporal.address == "" {
		frontendToken = engine.FrontendToken(decisionKey)
	}
	tc, opts, stopTemporal, err := f.connectTemporal(ctx, logger, stdout, met, frontendToken)
	if err != nil {
		return err
	}
	defer stopTemporal()
	wdeps, mcpClient, err := f.workerDeps(db, logger, decisionKey, ln.Addr().String(), opts.HostPort, met)
	if err != nil {
		return err
	}
	w := engine.NewWorker(tc, wdeps)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer stopWithin(logger, "worker", stopLimit, w.Stop)

	eng := engine.New(tc, engine.Options{DecisionKey: decisionKey})
	// Records the end of runs that ended without reporting it to the version rollup.
	defer eng.ReconcileRollupInBackground(ctx, enginestore.Tasks{DB: db}, logger, rollupSchedule)()
	// The daily digest of notifications is a Temporal schedule; creating it twice is a no-op.
	if err := eng.EnsureDigestSchedule(ctx, "UTC"); err != nil {
		logger.Warn("digest schedule", slog.Any("error", err))
	}
	deps := web.Deps{
		Notifier:  wdeps.Notifier,
		Users:     db,
		Health:    healthCheck(db, tc),
		Graphs:    db,
		Runs:      eng,
		Tasks:     db,
		Providers: db,
		Triggers:  db,
		// Notification settings, choices and deliveries (cmd_notify.go).
		Notifications: notifyAdmin{db},
		MCPTools:      mcpClient.Tools,
		MCPServers:    db,
	}
	if len(workerTokens) > 0 {
		deps.Users = web.WorkerTokens(db, workerTokens)
		deps.Worker = keyedWorkerSource{workerSource: workerSource{db: db, namespace: opts.Namespace, taskQueue: engine.DefaultTaskQueue},
			key: decisionKey, temporalToken: frontendToken}
	}
	// With runs left to remote workers, whose hints stay on their machines, the live pages
	// read runs more often.
	liveInterval := time.Duration(0)
	if f.remoteOnly {
		liveInterval = 2 * time.Second
	}
	app := web.New(web.Config{Dev: f.dev, Logger: logger, LiveInterval: liveInterval, Metrics: met.registerer(),
		SecureCookies: secure, PublicURL: f.publicURL, TrustedProxies: f.proxies, Quotas: f.quotas, MaxBulkRuns: f.maxBulkRuns}, deps)
	return serveUntilDone(ctx, app.HTTPServer(), ln, f, devLogins, logger, stdout)
}

// workerTokens are the tokens of --worker-token-file (none without it), which gets a new
// one when it does not exist.
func (f *serveFlags) workerTokens(stdout io.Writer) ([]string, error) {
	if f.workerTokenFile == "" {
		return nil, nil
	}
	tokens, created, err := loadWorkerTokens(f.workerTokenFile)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stdout, "wrote a new worker token to %s; give each trellis worker a copy with --worker-token-file\n", f.workerTokenFile)
	}
	return tokens, nil
}

// parseServeFlags reads serve's flags and checks them; secure says the public URL is https.
func parseServeFlags(args []string, stdout io.Writer) (serveFlags, bool, error) {
	var f serveFlags
	fs := newFlagSet("serve")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address the web UI and API listen on")
	fs.StringVar(&f.data, "data", "./data", "data directory (SQLite files, secret key)")
	fs.BoolVar(&f.dev, "dev", false, "on an empty data dir, create demo users and example graphs")
	fs.StringVar(&f.publicURL, "public-url", "", "the URL people reach Trellis at; https:// turns on Secure cookies and HSTS (set it behind a TLS proxy)")
	fs.StringVar(&f.trustedProxy, "trusted-proxy", "", "reverse proxies whose X-Forwarded-For names the client (for sign-in limits and logs), comma-separated: IP|CIDR,… (default: none; the peer's address is the client's)")
	fs.DurationVar(&f.quotas.MaxWait, "max-wait", actions.DefaultMaxWait, "the longest a wait node may wait; longer ones are refused when a run starts")
	fs.IntVar(&f.quotas.RunsPerMinute, "max-runs-per-minute", actions.DefaultRunsPerMinute, "runs one user (or webhook) may start a minute, in bursts of up to half that; more are answered 429")
	fs.IntVar(&f.maxBulkRuns, "max-bulk-runs", actions.DefaultMaxBulkRuns, "the most runs one bulk action (POST /runs/bulk) may act on; more ask for a narrower filter")
	fs.IntVar(&f.maxMapItems, "max-map-items", engine.MaxMapItems, mapItemsUsage)
	fs.IntVar(&f.runCache, "run-cache", engine.DefaultRunCache, runCacheUsage)
	f.outbound.register(fs)
	f.observe.register(fs)
	fs.StringVar(&f.workerTokenFile, "worker-token-file", "", "tokens that 'trellis worker' on other machines authenticate with, one a line; written with a new token when missing (default: no remote workers)")
	fs.BoolVar(&f.remoteOnly, "remote-workers-only", false, "leave runs and their http and llm nodes to 'trellis worker'; serve runs only the store's work (approval tasks, subgraph versions)")
	fs.DurationVar(&f.retention, "run-retention", engine.DefaultRetention, "how long the embedded Temporal server keeps an ended run's history, which its run page and timeline read (at least 24h; with --temporal-address, set it on your namespace)")
	f.temporal.register(fs, true)
	if err := parseCommand(fs, args, stdout, "serve [--addr HOST:PORT] [--data DIR] [--dev] [--worker-token-file FILE [--remote-workers-only]] [Temporal flags]"); err != nil {
		return f, false, err
	}
	if err := f.temporal.check(); err != nil {
		return f, false, err
	}
	if f.retention < engine.MinRetention {
		return f, false, usagef("serve: --run-retention %s is less than Temporal's least, 24h", f.retention)
	}
	if flagGiven(fs, "run-retention") && f.temporal.address != "" {
		return f, false, usagef("serve: --run-retention is for the embedded server; with --temporal-address, set the retention on your namespace")
	}
	if err := checkMaxMapItems(f.maxMapItems); err != nil {
		return f, false, err
	}
	if err := checkRunCache(f.runCache); err != nil {
		return f, false, err
	}
	if f.remoteOnly && f.workerTokenFile == "" {
		return f, false, usagef("serve: --remote-workers-only needs --worker-token-file, or no worker could run the runs")
	}
	proxies, err := parseTrustedProxies(f.trustedProxy)
	if err != nil {
		return f, false, err
	}
	f.proxies = proxies
	secure, err := parsePublicURL(f.publicURL)
	if err != nil {
		return f, false, err
	}
	if _, err := f.outbound.policy(); err != nil {
		return f, false, err
	}
	return f, secure, nil
}

// connectTemporal starts the embedded Temporal server (and its web UI), or takes the
// flags' remote one, and connects to it; stop closes what it started.
func (f *serveFlags) connectTemporal(ctx context.Context, logger *slog.Logger, stdout io.Writer, met *metrics, token string) (client.Client, client.Options, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (client.Client, client.Options, func(), error) {
		stop()
		return nil, client.Options{}, nil, err
	}
	opts := client.Options{Namespace: f.temporal.namespace, Logger: engine.NewSDKLogger(logger.With("component", "temporal-sdk"))}
	if f.temporal.address == "" {
		srv, err := engine.StartServer(engine.ServerConfig{DataDir: f.data, FrontendAddr: f.temporal.listen, Token: token, Logger: logger, RunCache: f.runCache})
		if err != nil {
			return fail(err)
		}
		stops = append(stops, func() {
			stopWithin(logger, "embedded temporal server", stopLimit, func() {
				if err := srv.Stop(); err != nil {
					logger.Warn("stop temporal server", slog.Any("error", err))
				}
			})
		})
		opts = srv.ClientOptions(opts)
		opts.Namespace = engine.Namespace
		fmt.Fprintf(stdout, "Temporal server (embedded) listening on %s, namespace %s\n", srv.HostPort(), engine.Namespace)
		if f.temporal.uiAddr != "" {
			stopUI, err := startTemporalUI(f.temporal.uiAddr, srv.HostPort(), token)
			if err != nil {
				return fail(err)
			}
			stops = append(stops, stopUI)
			fmt.Fprintf(stdout, "Temporal Web UI on http://%s\n", f.temporal.uiAddr)
		}
	} else {
		var err error
		if opts, err = f.temporal.clientOptions(logger); err != nil {
			return fail(err)
		}
	}
	opts.MetricsHandler = met.engine.SDKHandler()
	tc, err := dialTemporal(ctx, opts, f.temporal.address == "")
	if err != nil {
		return fail(fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err))
	}
	stops = append(stops, tc.Close)
	// Embedded too: a data dir made by an older build lacks attributes added since.
	if err := engine.EnsureSearchAttributes(ctx, tc, opts.Namespace); err != nil {
		return fail(fmt.Errorf("register search attributes on %s: %w", opts.Namespace, err))
	}
	if f.temporal.address == "" {
		if err := engine.EnsureRetention(ctx, tc, opts.Namespace, f.retention); err != nil {
			return fail(err)
		}
	}
	return tc, opts, stop, nil
}

// dialTemporal connects; to the embedded server it waits (a minute at most) while the
// frontend, just started, says it is not healthy yet.
func dialTemporal(ctx context.Context, opts client.Options, embedded bool) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		tc, err := client.DialContext(ctx, opts)
		var unavailable *serviceerror.Unavailable
		if err == nil || !embedded || !errors.As(err, &unavailable) || time.Now().After(deadline) {
			return tc, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// workerDeps are what serve's worker runs with. It polls the store queue, so the store's
// activities run only here, beside the store; and the main queue too, unless runs are left
// to remote workers. http nodes reach public addresses only (unless the flags say more),
// never our own listeners (addr) nor the Temporal frontend.
func (f *serveFlags) workerDeps(db *store.DB, logger *slog.Logger, decisionKey []byte, addr, temporalAddr string, met *metrics) (engine.Deps, *engine.MCPClient, error) {
	wdeps := workerDeps(db, logger)
	wdeps.StoreQueueOnly = f.remoteOnly
	wdeps.DecisionKey = decisionKey
	wdeps.MaxWait = f.quotas.MaxWait
	wdeps.MaxMapItems = f.maxMapItems
	var err error
	if wdeps.Outbound, err = f.outbound.policy(addr, temporalAddr, f.temporal.uiAddr, f.observe.metricsAddr); err != nil {
		return wdeps, nil, err
	}
	// The worker hints the live pages when a run may have changed.
	wdeps.Notifier = engine.NewNotifier()
	// Agents' MCP tools: their servers from the store, reached under the same outbound
	// policy at run time and when publishing reads their tool lists.
	wdeps.MCPServers = engineMCP{db}
	mcpClient, err := engine.NewMCPClient(wdeps.MCPServers, wdeps.Secrets, wdeps.Outbound)
	if err != nil {
		return wdeps, nil, err
	}
	wdeps.Metrics = met.engine
	met.watchTasks(db)
	return wdeps, mcpClient, nil
}

// serveUntilDone serves the app on ln, says where and how to sign in, and shuts the HTTP
// server down (event streams first) when ctx ends.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener, f serveFlags, devLogins []devLogin, logger *slog.Logger, stdout io.Writer) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Trellis is serving on %s (data in %s)\n", url, f.data)
	for _, l := range devLogins {
		fmt.Fprintf(stdout, "  log in as %-10s password %-14s (%s)\n", l.name, l.password, l.roles)
	}
	if f.dev {
		fmt.Fprintln(stdout, "  llm nodes need a provider; for a local Ollama: trellis provider set default --kind openai --base-url http://127.0.0.1:11434/v1 --model llama3.2")
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
	}
	fmt.Fprintln(stdout, "shutting down...")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown", slog.Any("error", err))
	}
	return nil
}

// stopLimit bounds each part of serve's shutdown.
const stopLimit = 30 * time.Second

// stopWithin runs stop and waits at most limit for it: an interrupted serve must end even
// when a part hangs on its way down. Whatever it left is what a crash leaves, which the
// SQLite files and Temporal's history survive.
func stopWithin(logger *slog.Logger, what string, limit time.Duration, stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		logger.Warn("still stopping; going on without waiting", slog.String("part", what), slog.Duration("after", limit))
	}
}

// stopOnDone turns a context into the interrupt channel worker.Run wants.
func stopOnDone(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// healthCheck reports whether the store and Temporal answer.
func healthCheck(db *store.DB, tc client.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return nil
	}
}

// parseTrustedProxies reads --trusted-proxy: IP addresses and CIDR prefixes, comma-separated.
func parseTrustedProxies(raw string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if ip := net.ParseIP(part); ip != nil {
			bits := 8 * net.IPv4len
			if ip.To4() == nil {
				bits = 8 * net.IPv6len
			}
			part = fmt.Sprintf("%s/%d", part, bits)
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, usagef("serve: --trusted-proxy %q is not an IP address or CIDR prefix", part)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// parsePublicURL checks --public-url and reports whether it is https, which turns on the
// Secure flag of cookies and HSTS. Empty is plain http on the listen address.
func parsePublicURL(raw string) (secure bool, err error) {
	if raw == "" {
		return false, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false, usagef("serve: --public-url %q is not an http:// or https:// URL with a host", raw)
	}
	return u.Scheme == "https", nil
}
