package web

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"trellis/store"
)

// BenchmarkWebhookStart measures a signed delivery to POST /hooks/{id} until its 202, with 50
// deliveries in flight at once (200 in all, over four hooks so the per-hook rate limit does
// not answer them): the signature check, the input check and the run's start on the embedded
// Temporal server. It reports webhook_start_p50_ms and _p99_ms.
func BenchmarkWebhookStart(b *testing.B) {
	_, rc := newRunApp(b)
	app, _ := hookApp(b, b.TempDir(), rc)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "v1")
	type hook struct{ id, secret string }
	var hooks []hook
	for i := range 4 {
		r := ana.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": fmt.Sprintf("h%d", i)})
		wantStatus(b, r, http.StatusCreated)
		hooks = append(hooks, hook{r.JSON(b)["id"].(string), r.JSON(b)["secret"].(string)})
	}
	const workers, each = 50, 4
	body := []byte(`{"name": "Ada"}`)
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					h := hooks[(w+i)%len(hooks)]
					req, _ := http.NewRequest(http.MethodPost, app.URL+"/hooks/"+h.id, bytes.NewReader(body))
					req.Header.Set("X-Trellis-Signature", sign(h.secret, body))
					start := time.Now()
					resp, err := http.DefaultClient.Do(req)
					d := time.Since(start)
					if err != nil || resp.StatusCode != http.StatusAccepted {
						b.Errorf("delivery: %v %v", err, resp)
						return
					}
					resp.Body.Close()
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no deliveries")
	}
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "start_p50_ms")
	b.ReportMetric(ms(0.99), "start_p99_ms")
}
