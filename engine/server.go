package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Namespace is the Temporal namespace Trellis runs in unless told otherwise.
const Namespace = "default"

// Search attributes the engine sets on every run so that runs can be listed and filtered
// through Temporal visibility.
const (
	SAGraph     = "TrellisGraph"
	SAVersion   = "TrellisVersion"
	SAStartedBy = "TrellisStartedBy"
	// SAStatus is "running" or "waiting" (a node waits for a person) while a run is open.
	SAStatus = "TrellisStatus"
	// SATokens and SACost are a run's llm usage, set when it ends (only runs with llm nodes).
	SATokens = "TrellisTokens"
	SACost   = "TrellisCost"
	// SARewoundFrom is the run a rewound run was rewound from (recovery_rewind.go).
	SARewoundFrom = "TrellisRewoundFrom"
)

// SearchAttributes are registered on the embedded server's namespace at start.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	SAGraph:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SAVersion:     enumspb.INDEXED_VALUE_TYPE_INT,
	SAStartedBy:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SAStatus:      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SATokens:      enumspb.INDEXED_VALUE_TYPE_INT,
	SACost:        enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	SARewoundFrom: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// ServerConfig configures the embedded Temporal server.
type ServerConfig struct {
	// DataDir holds temporal.db, the server's SQLite file.
	DataDir string
	// FrontendAddr is host:port for the frontend; empty picks a free port on 127.0.0.1.
	FrontendAddr string
	// Token, when set, is the credential the frontend requires of every client
	// (server_auth.go); Server.ClientOptions and WithFrontendToken send it.
	Token  string
	Logger *slog.Logger
	// RunCache bounds the history service's cache of runs' mutable state, at least
	// minServerRunCache (0: Temporal's 128,000, which holds every waiting run in memory for
	// an hour after it last moved).
	RunCache int

	// How many partitions of each task queue are read and written, set by StartServer
	// (server_partitions.go); writePartitions otherwise only by a test that makes an older
	// server's backlog.
	readPartitions, writePartitions int
	// testConfig adds to (or overrides) the server's dynamic config, for tests only.
	testConfig dynamicconfig.StaticClient
}

// Server is an embedded single-process Temporal server persisting to SQLite.
type Server struct {
	token    string
	srv      temporal.Server
	hostPort string
	stopping *atomic.Bool
}

// StartServer sets up the schema on first use, registers the namespace and search
// attributes, and starts all Temporal services in this process.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, port, err := frontendAddr(cfg.FrontendAddr)
	if err != nil {
		return nil, err
	}
	if port != 0 {
		// A port the user chose and another process holds is their error to fix, not a retry.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("temporal listen address: %w", err)
		}
		l.Close()
	}
	dbPath := filepath.Join(cfg.DataDir, "temporal.db")
	sqlCfg, err := openServerDB(dbPath)
	if err != nil {
		return nil, err
	}
	reads, err := partitionsToRead(dbPath)
	if err != nil {
		return nil, err
	}
	cfg.writePartitions = cmp.Or(cfg.writePartitions, writePartitions)
	cfg.readPartitions = max(reads, cfg.writePartitions) // never fewer read than written
	if reads > 1 {
		cfg.Logger.Info("tasks an older server wrote wait in other task queue partitions; reading all of them until the next start",
			slog.Int("partitions", reads))
	}
	// The ports are checked free, then bound by the server a moment later; another process
	// may take one in between. The server reports that through Fatal, which panics while
	// starting (startupFailure), so a fresh set of ports is tried instead of the process exiting.
	var lastErr error
	for range startAttempts {
		s, err := startOnce(cfg, host, port, sqlCfg)
		if err == nil {
			return s, nil
		}
		lastErr = err
		var sf startupFailure
		if !errors.As(err, &sf) {
			break
		}
	}
	return nil, lastErr
}

// minServerRunCache is the least the history service's cache of runs is cut to: a run being
// worked on is pinned in it, and with every entry pinned the server refuses work
// (ResourceExhausted), so a small --run-cache bounds only the worker's cache, at about 40 KB
// a run the larger cost; the server's entries take about 8 KB.
const minServerRunCache = 1000

// maxQueuePollRPS bounds how often a history queue of the one shard reads its tasks: high
// enough that a task is read as it is written, still a bound under a burst.
const maxQueuePollRPS = 1000

// startAttempts bounds the retries after a port was taken between the check and the bind.
const startAttempts = 4

// startOnce picks the service ports and starts the server on them.
func startOnce(cfg ServerConfig, host string, port int, sqlCfg *config.SQL) (s *Server, err error) {
	// Each service needs its own ports; all but the frontend are free ports on loopback so
	// that two instances with different data dirs can run side by side.
	ports, err := portPicker(numServicePorts)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = ports[0]
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(port))
	conf := serverConfig(frontend, host, port, ports, sqlCfg, cfg.Token != "")
	authOpts := authOptions(cfg.Token)
	dc := dynamicconfig.StaticClient{
		// Updates carry human decisions; they must be on.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// Trellis stores no payloads outside history. Left on (1.32's default), the history
		// service walks every event batch for external payloads while gRPC may still be
		// marshalling the same events: a data race inside the server that -race reports.
		dynamicconfig.ExternalPayloadsEnabled.Key(): false,
		// Each history queue reads its tasks at most 20 times a second per shard by default,
		// a figure for clusters of hundreds of shards. This server has one shard, so it would
		// be the whole server's limit: every workflow or activity task dispatched waited up to
		// 50 ms for a read, most of an agent turn's time (make bench, agent_turn_overhead).
		// The visibility queue keeps the default: nobody waits on it, and each read merges
		// the new tasks into those still being written, a walk over all of them. Under load
		// visibility lags (its SQLite writes are a fifth of serve's work), and at 1,000 reads
		// a second that walk took 18 % of serve's CPU while 2,000 runs were decided.
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): maxQueuePollRPS,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():    maxQueuePollRPS,
		// A task queue has four partitions by default, to spread it over matching hosts. In
		// one process they only add forwarding: a task written to a partition no poller was
		// waiting on reached a worker up to hundreds of ms later, and a run of parallel nodes
		// waits for its slowest (make bench, interpreter_overhead: 70 to 500 ms a run in steps
		// of about 100 ms; now 70 to 165). See server_partitions.go.
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): cfg.writePartitions,
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  cfg.readPartitions,
	}
	maps.Copy(dc, cfg.testConfig)
	if cfg.RunCache > 0 {
		dc[dynamicconfig.HistoryCacheHostLevelMaxSize.Key()] = max(cfg.RunCache, minServerRunCache)
	}
	stopping, starting := new(atomic.Bool), new(atomic.Bool)
	starting.Store(true)
	defer starting.Store(false)
	defer func() {
		if p := recover(); p != nil {
			sf, ok := p.(startupFailure)
			if !ok {
				panic(p)
			}
			s, err = nil, sf
		}
	}()
	srv, err := temporal.NewServer(append(authOpts,
		temporal.WithConfig(conf),
		temporal.WithLogger(serverLogger{l: cfg.Logger.With("component", "temporal"), stopping: stopping, starting: starting}),
		temporal.WithDynamicConfigClient(dc),
	)...)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return &Server{token: cfg.Token, srv: srv, hostPort: frontend, stopping: stopping}, nil
}

// frontendAddr splits --temporal-listen ("" is loopback on a free port, port 0).
func frontendAddr(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", 0, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("temporal listen address %q: %w", addr, err)
	}
	if h == "" {
		h = "127.0.0.1"
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("temporal listen address %q: bad port", addr)
	}
	return h, port, nil
}

// openServerDB is the SQLite persistence at dbPath, with its schema and namespace created
// on the first start and the cluster members of an earlier process forgotten.
func openServerDB(dbPath string) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbPath,
		ConnectAttributes: serverDBAttributes(),
	}
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up temporal schema: %w", err)
		}
	}
	nsCfg, err := sqlite.NewNamespaceConfig("active", Namespace, false, SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	if err := forgetMembers(sqlCfg); err != nil {
		return nil, err
	}
	return sqlCfg, nil
}

// serverDBAttributes are temporal.db's connection settings. Temporal's SQLite plugin
// (modernc) passes each one that is not a URI parameter to SQLite as a pragma of that very
// name: "_journal_mode", go-sqlite3's spelling, was an unknown pragma that SQLite ignores,
// so the file ran with a rollback journal (a journal file made, synced and deleted per
// transaction) and every commit paid for it.
func serverDBAttributes() map[string]string {
	return map[string]string{
		"mode":         "rwc",
		"journal_mode": "wal",
		"synchronous":  "full", // a commit Temporal acknowledged survives a power cut
		"busy_timeout": "5000", // doctor's integrity check may hold a read lock
	}
}

// serverConfig is the server's static configuration: the frontend on host:port, the other
// services on loopback ports, persistence in sqlCfg, archival off.
func serverConfig(frontend, host string, port int, ports []int, sqlCfg *config.SQL, guarded bool) *config.Config {
	svc := func(grpc, membership int, bindIP string) config.Service {
		s := config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnLocalHost: bindIP == ""}}
		if bindIP != "" {
			s.RPC.BindOnIP = bindIP
		}
		return s
	}
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
			// No Metrics: Trellis serves its own /metrics, and the server's Prometheus listener
			// is one more port to collide on, failing fatally from a goroutine.
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc(port, ports[1], hostIfNotLoopback(host)),
			"history":  svc(ports[2], ports[3], ""),
			"matching": svc(ports[4], ports[5], ""),
			"worker":   svc(ports[6], ports[7], ""),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		PublicClient: config.PublicClient{HostPort: frontend},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
	if guarded {
		// The system workers cannot send the token: they reach the services through the
		// internal frontend on loopback, which they find through membership when the public
		// client's address is left empty (server_auth.go).
		conf.Services["internal-frontend"] = svc(ports[8], ports[9], "")
		conf.PublicClient.HostPort = ""
	}
	return conf
}

// HostPort is the frontend address clients dial.
func (s *Server) HostPort() string { return s.hostPort }

// Stop stops all services.
func (s *Server) Stop() error {
	s.stopping.Store(true)
	return s.srv.Stop()
}

// numServicePorts: frontend and its membership port, then gRPC and membership ports for
// history, matching, worker and (with a token) the internal frontend.
const numServicePorts = 10

func hostIfNotLoopback(h string) string {
	if h == "127.0.0.1" || h == "localhost" {
		return ""
	}
	return h
}

// portPicker is pickPorts; a test replaces it to hand out a port already taken.
var portPicker = pickPorts

// pickPorts returns n distinct ports free on loopback, chosen at random outside the
// kernel's ephemeral range. Ports inside it are handed out to every bind(":0") and every
// outgoing connection on the machine, so one checked free could be taken before the server
// binds it; outside it only another embedded server choosing at the same moment could.
func pickPorts(n int) ([]int, error) {
	lo, hi := portWindow(ephemeralRange())
	ports := make([]int, 0, n)
	seen := make(map[int]bool, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("find %d free ports in %d-%d: too many in use", n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if seen[p] {
			continue
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralRange is the kernel's range for automatically assigned ports, or Linux's default
// where it cannot be read.
func ephemeralRange() (int, int) {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if n, _ := fmt.Sscan(string(b), &a, &z); n == 2 && a > 0 && z >= a {
			lo, hi = a, z
		}
	}
	return lo, hi
}

// portWindow is where pickPorts chooses: below the ephemeral range when there is room
// above the well-known and common service ports, else above it.
func portWindow(ephLo, ephHi int) (int, int) {
	const floor = 10000
	if ephLo-floor >= 4096 {
		return floor, ephLo
	}
	if 65535-ephHi >= 1024 {
		return ephHi + 1, 65536
	}
	return 1024, 65536 // the whole range is ephemeral; nothing is safer than anything else
}

// forgetMembers removes the cluster membership rows of the previous process. The server
// bootstraps ringpop from members that heartbeated within 20 seconds; after a quick restart
// it would try to join those dead members until its 30-second join limit passes, and runs
// would stall meanwhile. The data dir belongs to this one process, so none is alive.
func forgetMembers(sqlCfg *config.SQL) error {
	db, err := sql.NewSQLDB(sqlplugin.DbKindMain, sqlCfg, resolver.NewNoopResolver(), tlog.NewNoopLogger(),
		metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open temporal database: %w", err)
	}
	defer db.Close()
	// Rows expire 48 hours after their last heartbeat; this removes them all.
	_, err = db.PruneClusterMembership(context.Background(),
		&sqlplugin.PruneClusterMembershipFilter{PruneRecordsBefore: time.Now().Add(49 * time.Hour)})
	if err != nil {
		return fmt.Errorf("forget previous cluster members: %w", err)
	}
	return nil
}

// serverLogger adapts the server's logger interface to slog; the server is chatty, so
// only errors are passed on, and not while stopping, when services losing each other is
// expected ("Not enough hosts to serve the request").
type serverLogger struct {
	l        *slog.Logger
	stopping *atomic.Bool
	starting *atomic.Bool
}

// startupFailure is the server's Fatal while StartServer builds it, typically a port taken
// by another process: an error StartServer returns or retries, not an exit.
type startupFailure struct {
	msg  string
	tags []any
}

func (f startupFailure) Error() string {
	return fmt.Sprint(append([]any{"temporal server: " + f.msg}, f.tags...)...)
}

func attrs(tags []tag.Tag) []any {
	out := make([]any, 0, len(tags))
	for _, t := range tags {
		out = append(out, slog.Any(t.Key(), t.Value()))
	}
	return out
}

func (s serverLogger) Debug(string, ...tag.Tag) {}
func (s serverLogger) Info(string, ...tag.Tag)  {}
func (s serverLogger) Warn(msg string, tags ...tag.Tag) {
	s.l.Debug(msg, attrs(tags)...)
}
func (s serverLogger) Error(msg string, tags ...tag.Tag) {
	if s.stopping.Load() {
		s.l.Debug(msg, attrs(tags)...)
		return
	}
	s.l.Warn(msg, attrs(tags)...)
}
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) {
	s.l.Error(msg, attrs(tags)...)
}
func (s serverLogger) Panic(msg string, tags ...tag.Tag) {
	s.l.Error(msg, attrs(tags)...)
	panic(msg)
}
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	if s.starting != nil && s.starting.Load() {
		panic(startupFailure{msg: msg, tags: attrs(tags)})
	}
	s.l.Error(msg, attrs(tags)...)
	// The logger may discard (tests) or buffer; the reason for the exit must be seen.
	fmt.Fprintln(os.Stderr, append([]any{"trellis: temporal server fatal:", msg}, attrs(tags)...)...)
	os.Exit(1)
}
