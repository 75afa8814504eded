package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Logger       *slog.Logger
}

// Server is an embedded single-process Temporal server persisting to SQLite.
type Server struct {
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
	// Each service needs its own ports; all but the frontend are free ports on loopback so
	// that two instances with different data dirs can run side by side.
	ports, err := freePorts(numServicePorts)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = ports[0]
	}
	sqlCfg, err := openServerDB(filepath.Join(cfg.DataDir, "temporal.db"))
	if err != nil {
		return nil, err
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(port))
	conf := serverConfig(frontend, host, port, ports, sqlCfg)
	dc := dynamicconfig.StaticClient{
		// Updates carry human decisions; they must be on.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// Trellis stores no payloads outside history. Left on (1.32's default), the history
		// service walks every event batch for external payloads while gRPC may still be
		// marshalling the same events: a data race inside the server that -race reports.
		dynamicconfig.ExternalPayloadsEnabled.Key(): false,
	}
	stopping := new(atomic.Bool)
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(newServerLogger(cfg.Logger, stopping)),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return &Server{srv: srv, hostPort: frontend, stopping: stopping}, nil
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
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		ConnectAttributes: map[string]string{
			"mode":          "rwc",
			"_journal_mode": "wal",
			"_synchronous":  "2",
		},
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

// serverConfig is the server's static configuration: the frontend on host:port, the other
// services on loopback ports, persistence in sqlCfg, archival off.
func serverConfig(frontend, host string, port int, ports []int, sqlCfg *config.SQL) *config.Config {
	svc := func(grpc, membership int, bindIP string) config.Service {
		s := config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnLocalHost: bindIP == ""}}
		if bindIP != "" {
			s.RPC.BindOnIP = bindIP
		}
		return s
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])), HandlerPath: "/metrics"}},
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
			"frontend": svc(port, ports[2], hostIfNotLoopback(host)),
			"history":  svc(ports[3], ports[4], ""),
			"matching": svc(ports[5], ports[6], ""),
			"worker":   svc(ports[7], ports[8], ""),
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
}

// HostPort is the frontend address clients dial.
func (s *Server) HostPort() string { return s.hostPort }

// Stop stops all services.
func (s *Server) Stop() error {
	s.stopping.Store(true)
	return s.srv.Stop()
}

// numServicePorts: frontend, metrics, frontend membership, then gRPC and membership ports
// for history, matching and worker.
const numServicePorts = 9

func hostIfNotLoopback(h string) string {
	if h == "127.0.0.1" || h == "localhost" {
		return ""
	}
	return h
}

func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
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
}

func newServerLogger(l *slog.Logger, stopping *atomic.Bool) tlog.Logger {
	return serverLogger{l: l.With("component", "temporal"), stopping: stopping}
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
	s.l.Error(msg, attrs(tags)...)
	os.Exit(1)
}
