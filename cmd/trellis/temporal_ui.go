package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/labstack/echo/v4"
	uiapi "github.com/temporalio/ui-server/v2/server/api"
	"google.golang.org/grpc/metadata"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"

	"trellis/engine"
)

// startTemporalUI serves the standard Temporal Web UI for the embedded server, so developers
// can open any run in the tool they know. The UI has no login of its own, so it may only
// listen on loopback.
func startTemporalUI(addr, temporalHostPort, token string) (stop func(), err error) {
	host, port, err := checkUIAddr(addr)
	if err != nil {
		return nil, err
	}
	// The UI server exits the process when it cannot listen, so check the port first.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--temporal-ui-addr: %w", err)
	}
	ln.Close()
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: temporalHostPort,
		EnableUI:            true,
		DefaultNamespace:    engine.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("temporal ui config: %w", err)
	}
	// The frontend wants Trellis's credential; the UI's calls carry it (the UI itself is on
	// loopback only, for the operator of this machine).
	withToken := func(echo.Context) runtime.ServeMuxOption {
		return runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD {
			return metadata.Pairs("authorization", "Bearer "+token)
		})
	}
	srv := uiserver.NewServer(uioptions.WithConfigProvider(cfg), uioptions.WithAPIMiddleware([]uiapi.Middleware{withToken}))
	go func() { _ = srv.Start() }()
	return srv.Stop, nil
}

// checkUIAddr parses --temporal-ui-addr and refuses anything but loopback.
func checkUIAddr(addr string) (string, int, error) {
	host, port, err := splitHostPortNum(addr)
	if err != nil {
		return "", 0, fmt.Errorf("--temporal-ui-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, fmt.Errorf("--temporal-ui-addr %q: the Temporal Web UI has no login, so it only listens on loopback (127.0.0.1)", addr)
	}
	return host, port, nil
}

func splitHostPortNum(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var n int
	if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n <= 0 || n > 65535 {
		return "", 0, errors.New("bad port " + p)
	}
	return h, n, nil
}
