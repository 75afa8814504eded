package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"trellis/designer"
	"trellis/internal/testsvc"
)

// BenchmarkAgentTurn measures agent_turn_overhead_ms: the time per model turn of a 10-turn
// agent run on the embedded server that is spent outside the fake provider and the fake
// tool service (both answer at once; their own handler time is subtracted). Each of the
// first nine turns calls one http tool; the tenth answers: 19 activities in all. The
// baseline, measured in interleaved pairs, is a chain of 19 http nodes against the same
// service (agent_turn_ratio: the agent's run over the chain's), so the figure says what the
// agent adds over the activities it cannot avoid, whatever the machine's load.
func BenchmarkAgentTurn(b *testing.B) {
	var mu sync.Mutex
	var outside time.Duration // time spent inside the fake services' handlers
	timed := func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t0 := time.Now()
			h(w, r)
			mu.Lock()
			outside += time.Since(t0)
			mu.Unlock()
		})
	}
	shop := testsvc.New(b, timed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "A-7", "total": 40}`)
	}))
	defer shop.Close()
	const turns = 10
	chat := newChatServer(b, func(_ int, body map[string]any) chatReply {
		assistant := 0
		msgs, _ := body["messages"].([]any)
		for _, m := range msgs {
			if mm, _ := m.(map[string]any); mm["role"] == "assistant" {
				assistant++
			}
		}
		if assistant+1 < turns {
			return chatToolCalls("lookup_order", `{"id":"A-7"}`)
		}
		return chatAnswer("gpt-test", `{"done": true}`, 30, 4)
	})
	chat.Config.Handler = timed(chat.Config.Handler.ServeHTTP)
	cl := startCluster(b, b.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Versions: memVersions{"stock@1": mustGraph(b, stockGraph)}, Logger: quietLogger()})
	g := mustGraph(b, agentGraph(shop.URL, turns))
	chain := `{"nodes": [`
	for i := range 2*turns - 1 {
		if i > 0 {
			chain += ","
		}
		chain += fmt.Sprintf(`{"id": "n%d", "kind": "http", "config": {"url": "%s/orders/A-7"}}`, i, shop.URL)
	}
	chain += `], "edges": [`
	for i := 1; i < 2*turns-1; i++ {
		if i > 1 {
			chain += ","
		}
		chain += fmt.Sprintf(`{"from": "n%d", "to": "n%d"}`, i-1, i)
	}
	baseline := mustGraph(b, chain+`]}`)
	run := func(g designer.Graph) time.Duration {
		mu.Lock()
		outside = 0
		mu.Unlock()
		t0 := time.Now()
		id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1, Definition: g,
			Input: map[string]any{"message": "Where is A-7?"}})
		if err != nil {
			b.Fatal(err)
		}
		// The result's long poll answers as the run closes; polling GetRun would add up to
		// its interval to every run.
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		_ = cl.eng.c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		cancel()
		wall := time.Since(t0)
		if r := waitRun(b, cl.eng, id, "ended", ended); r.Status != RunCompleted {
			b.Fatalf("run %s: %s %+v", id, r.Status, r.Error)
		}
		mu.Lock()
		defer mu.Unlock()
		return wall - outside
	}
	run(g) // warm up the worker and the task queues
	run(baseline)
	var agent, chained []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range 5 {
			agent = append(agent, run(g))
			chained = append(chained, run(baseline))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((median(agent)/turns).Microseconds())/1000, "overhead_ms")
	b.ReportMetric(float64(median(chained).Microseconds())/1000, "chain19_ms")
	b.ReportMetric(float64(median(agent))/float64(median(chained)), "ratio_x")
}
