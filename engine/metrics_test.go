package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSDKMetricsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	h := m.SDKHandler().WithTags(map[string]string{"namespace": "default", "task-queue": "trellis"})
	h.Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(1)
	// Another tag set for the same name: missing labels are empty, extra ones dropped.
	m.SDKHandler().WithTags(map[string]string{"namespace": "other", "extra": "x"}).Counter("temporal_request").Inc(5)
	h.Gauge("temporal_worker_task_slots_available").Update(7)
	h.Timer("temporal_request_latency").Record(1500 * time.Millisecond)
	m.observeLLM("default", "gpt-x", 10, 4, 0.25)
	m.observeLLM("default", "gpt-x", 5, 1, -1) // no price: tokens only

	want := `
# HELP temporal_request_total Temporal SDK or interpreter counter.
# TYPE temporal_request_total counter
temporal_request_total{namespace="default",task_queue="trellis"} 3
temporal_request_total{namespace="other",task_queue=""} 5
# HELP trellis_llm_cost_total Cost of llm calls in the currency of the provider's price table, by provider and model.
# TYPE trellis_llm_cost_total counter
trellis_llm_cost_total{model="gpt-x",provider="default"} 0.25
# HELP trellis_llm_tokens_total Tokens used by llm nodes, by provider, model and direction (prompt or completion).
# TYPE trellis_llm_tokens_total counter
trellis_llm_tokens_total{direction="completion",model="gpt-x",provider="default"} 5
trellis_llm_tokens_total{direction="prompt",model="gpt-x",provider="default"} 15
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_request_total",
		"trellis_llm_cost_total", "trellis_llm_tokens_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.sdk["temporal_worker_task_slots_available"].gauge); got != 7 {
		t.Errorf("gauge = %v, want 7", got)
	}
	if n := testutil.CollectAndCount(m.sdk["temporal_request_latency_seconds"].timer); n != 1 {
		t.Errorf("timer series = %d, want 1", n)
	}
	var nilMetrics *Metrics
	nilMetrics.observeLLM("p", "m", 1, 1, 1) // records nothing, does not panic
	nilMetrics.SDKHandler().Counter("x").Inc(1)
}

func TestSDKLoggerNamesTheRun(t *testing.T) {
	var buf bytes.Buffer
	l := NewSDKLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	l.Info("node failed", "WorkflowID", "run-7", "node", "pay")
	if !strings.Contains(buf.String(), `"run_id":"run-7"`) || strings.Contains(buf.String(), "WorkflowID") {
		t.Errorf("log line = %s", buf.String())
	}
}
