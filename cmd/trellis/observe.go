package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"trellis/engine"
	"trellis/store"
)

// observeFlags are how serve and worker report on themselves: logs and metrics.
type observeFlags struct {
	logLevel, logFormat, metricsAddr string
}

func (o *observeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text, or json (one object a line; lines about a run carry run_id)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, on a listener of its own (default: none)")
}

func (o *observeFlags) logger(w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
}

// metrics holds the registry when --metrics-addr is set; its methods do nothing otherwise.
type metrics struct {
	reg    *prometheus.Registry
	engine *engine.Metrics
	srv    *http.Server
}

// startMetrics listens on --metrics-addr (before the slow start of Temporal, so that a taken
// port fails fast) and serves the registry there; the caller registers more before traffic.
func (o *observeFlags) startMetrics(logger *slog.Logger, stdout io.Writer) (*metrics, error) {
	m := &metrics{}
	if o.metricsAddr == "" {
		return m, nil
	}
	ln, err := net.Listen("tcp", o.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w", o.metricsAddr, err)
	}
	m.reg = prometheus.NewRegistry()
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.engine = engine.NewMetrics(m.reg)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Prometheus metrics on http://%s/metrics\n", ln.Addr())
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener", slog.Any("error", err))
		}
	}()
	return m, nil
}

// registerer is where web registers its metrics; nil without --metrics-addr.
func (m *metrics) registerer() prometheus.Registerer {
	if m.reg == nil {
		return nil
	}
	return m.reg
}

func (m *metrics) close() {
	if m.srv != nil {
		_ = m.srv.Close()
	}
}

// watchTasks reports the open and overdue tasks by graph, read from the store at each scrape.
func (m *metrics) watchTasks(db *store.DB) {
	if m.reg != nil {
		m.reg.MustRegister(taskCollector{db: db})
	}
}

var (
	tasksOpenDesc    = prometheus.NewDesc("trellis_tasks_open", "Open tasks by graph.", []string{"graph"}, nil)
	tasksOverdueDesc = prometheus.NewDesc("trellis_tasks_overdue", "Open tasks past their due time, by graph.", []string{"graph"}, nil)
)

type taskCollector struct{ db *store.DB }

func (taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksOpenDesc
	ch <- tasksOverdueDesc
}

func (c taskCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.db.CountOpenByGraph(ctx, time.Now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(tasksOpenDesc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(tasksOpenDesc, prometheus.GaugeValue, float64(n.Open), n.GraphID)
		ch <- prometheus.MustNewConstMetric(tasksOverdueDesc, prometheus.GaugeValue, float64(n.Overdue), n.GraphID)
	}
}
