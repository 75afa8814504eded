package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/engine"
)

const workerSynopsis = "worker --temporal-address HOST:PORT --serve-url URL --worker-token-file FILE [Temporal flags]"

// runWorker runs a worker on another machine than serve: it polls the main task queue only
// (runs, http and llm nodes) and reads secrets and LLM providers from serve's internal API.
// The store's own work (approval tasks, subgraph versions) stays with serve, on the store
// queue, so nothing is written to a store that reviewers never see.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var tf temporalFlags
	var serveURL, tokenFile string
	var obs observeFlags
	var outbound outboundFlags
	var maxWait time.Duration
	var maxMapItems, runCache int
	fs := newFlagSet("worker")
	fs.IntVar(&runCache, "run-cache", engine.DefaultRunCache, runCacheUsage)
	fs.IntVar(&maxMapItems, "max-map-items", engine.MaxMapItems, mapItemsUsage+"; give it serve's")
	fs.DurationVar(&maxWait, "max-wait", engine.DefaultMaxWait, "the longest a wait node's until may lie ahead; give it serve's --max-wait")
	fs.StringVar(&serveURL, "serve-url", "", "address of trellis serve, which gives this worker secrets and LLM providers (required)")
	fs.StringVar(&tokenFile, "worker-token-file", "", "a copy of the file serve's --worker-token-file names (required)")
	obs.register(fs)
	outbound.register(fs)
	tf.register(fs, false)
	if err := parseCommand(fs, args, stdout, workerSynopsis); err != nil {
		return err
	}
	if tf.address == "" {
		return errors.New("worker needs --temporal-address (the embedded Temporal server runs inside 'trellis serve'; see its --temporal-listen)")
	}
	if serveURL == "" || tokenFile == "" {
		return usagef("worker needs --serve-url URL and --worker-token-file FILE: it reads secrets and LLM providers from serve; start serve with --worker-token-file FILE and copy that file here")
	}
	if err := tf.check(); err != nil {
		return err
	}
	if err := checkMaxMapItems(maxMapItems); err != nil {
		return err
	}
	if err := checkRunCache(runCache); err != nil {
		return err
	}
	engine.SetRunCache(runCache)
	logger, err := obs.logger(stderr)
	if err != nil {
		return err
	}
	met, err := obs.startMetrics(logger, stdout)
	if err != nil {
		return err
	}
	defer met.close()
	// http nodes never reach serve or the Temporal frontend through this worker.
	policy, err := outbound.policy(urlHostPort(serveURL), tf.address, obs.metricsAddr)
	if err != nil {
		return err
	}
	token, err := readWorkerToken(tokenFile)
	if err != nil {
		return err
	}
	sc, err := newServeClient(serveURL, token)
	if err != nil {
		return err
	}
	if sc.base.Scheme == "http" && !isLoopback(sc.base.Hostname()) {
		logger.Warn("--serve-url is plain http: secrets cross the network unencrypted; put serve behind https", slog.String("serve_url", sc.base.String()))
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	hello, err := sc.hello(hctx)
	cancel()
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if hello.Namespace != tf.namespace {
		return fmt.Errorf("worker: serve's runs are in Temporal namespace %q, this worker's --temporal-namespace is %q", hello.Namespace, tf.namespace)
	}
	opts, err := tf.clientOptions(logger)
	if err != nil {
		return err
	}
	if !tf.secured() {
		// serve's embedded frontend (a token in the hello), which wants its credential.
		opts = engine.WithFrontendToken(opts, hello.TemporalToken)
	}
	opts.MetricsHandler = met.engine.SDKHandler()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", tf.address, err)
	}
	defer tc.Close()
	w := engine.NewWorker(tc, engine.Deps{Secrets: sc, Providers: sc, MCPServers: sc, Logger: logger, Metrics: met.engine, TaskQueue: hello.TaskQueue, Remote: true,
		Outbound: policy, DecisionKey: hello.DecisionKey, MaxWait: maxWait, MaxMapItems: maxMapItems})
	fmt.Fprintf(stdout, "worker connected to %s, namespace %s, task queue %s; secrets and providers from %s\n",
		tf.address, tf.namespace, hello.TaskQueue, sc.base)
	if err := w.Run(stopOnDone(ctx)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
