package engine

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// Metrics are the engine's Prometheus metrics: the Temporal SDK's worker and client metrics
// (through SDKHandler) and Trellis's own. Workflow code reports through the SDK's handler
// (workflow.GetMetricsHandler), which is silent during replay, so a run is counted once
// however often its history is replayed. A nil *Metrics records nothing.
type Metrics struct {
	reg       prometheus.Registerer
	llmTokens *prometheus.CounterVec
	llmCost   *prometheus.CounterVec

	mu   sync.Mutex
	sdk  map[string]*sdkMetric // by Prometheus name
	errs int
}

// Metric names Trellis reports from workflow code, through the SDK's handler (the handler
// adds _total to counters and _seconds to timers).
const (
	metricRunsStarted  = "trellis_runs_started"
	metricRunsEnded    = "trellis_runs_ended"
	metricNodeDuration = "trellis_node_duration"
)

// NewMetrics registers the engine's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reg: reg, sdk: map[string]*sdkMetric{},
		llmTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_llm_tokens_total",
			Help: "Tokens used by llm nodes, by provider, model and direction (prompt or completion).",
		}, []string{"provider", "model", "direction"}),
		llmCost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_llm_cost_total",
			Help: "Cost of llm calls in the currency of the provider's price table, by provider and model.",
		}, []string{"provider", "model"}),
	}
	reg.MustRegister(m.llmTokens, m.llmCost)
	return m
}

// observeLLM counts one llm call's tokens and cost (cost < 0: the model has no price).
func (m *Metrics) observeLLM(provider, model string, prompt, completion int, cost float64) {
	if m == nil {
		return
	}
	m.llmTokens.WithLabelValues(provider, model, "prompt").Add(float64(prompt))
	m.llmTokens.WithLabelValues(provider, model, "completion").Add(float64(completion))
	if cost >= 0 {
		m.llmCost.WithLabelValues(provider, model).Add(cost)
	}
}

// SDKHandler is the handler for client.Options.MetricsHandler.
func (m *Metrics) SDKHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return sdkHandler{m: m}
}

// sdkMetric is one Prometheus vector made for an SDK metric name. Prometheus wants the same
// label names on every sample of a metric, while the SDK's tags are a map per call: the
// first call fixes the labels, later calls fill missing ones with "" and drop extra ones.
type sdkMetric struct {
	labels  []string
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	timer   *prometheus.HistogramVec
}

// ownLabels are the labels the interpreter puts on its metrics.
var ownLabels = []string{"graph", "kind", "status"}

var promNameBad = regexp.MustCompile(`[^a-zA-Z0-9_:]`)

func (m *Metrics) vector(name, kind string, tags map[string]string) (*sdkMetric, []string) {
	name = promNameBad.ReplaceAllString(name, "_")
	switch kind {
	case "counter":
		if !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
	case "timer":
		name += "_seconds"
	}
	if strings.HasPrefix(name, "trellis_") {
		// The interpreter's own metrics carry only their own labels, not the SDK's
		// namespace, task queue and worker tags that are the same on every sample.
		own := map[string]string{}
		for _, k := range ownLabels {
			if v, ok := tags[k]; ok {
				own[k] = v
			}
		}
		tags = own
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.sdk[name]
	if !ok {
		v = &sdkMetric{}
		for k := range tags {
			v.labels = append(v.labels, promNameBad.ReplaceAllString(k, "_"))
		}
		sort.Strings(v.labels)
		var c prometheus.Collector
		switch kind {
		case "counter":
			v.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK or interpreter counter."}, v.labels)
			c = v.counter
		case "gauge":
			v.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge."}, v.labels)
			c = v.gauge
		default:
			v.timer = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK or interpreter duration.",
				Buckets: []float64{.001, .005, .025, .1, .5, 1, 5, 30, 120, 600, 3600, 86400}}, v.labels)
			c = v.timer
		}
		if err := m.reg.Register(c); err != nil {
			// The name is taken by another kind of metric: keep the vector unregistered.
			m.errs++
		}
		m.sdk[name] = v
	}
	values := make([]string, len(v.labels))
	for i, l := range v.labels {
		for k, val := range tags {
			if promNameBad.ReplaceAllString(k, "_") == l {
				values[i] = val
			}
		}
	}
	return v, values
}

type sdkHandler struct {
	m    *Metrics
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	v, values := h.m.vector(name, "counter", h.tags)
	if v.counter == nil { // the name was first another kind of metric
		return counterFunc(func(int64) {})
	}
	c := v.counter.WithLabelValues(values...)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	v, values := h.m.vector(name, "gauge", h.tags)
	if v.gauge == nil { // the name was first another kind of metric
		return gaugeFunc(func(float64) {})
	}
	g := v.gauge.WithLabelValues(values...)
	return gaugeFunc(g.Set)
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	v, values := h.m.vector(name, "timer", h.tags)
	if v.timer == nil { // the name was first another kind of metric
		return timerFunc(func(time.Duration) {})
	}
	o := v.timer.WithLabelValues(values...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
