package engine

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkScheduleFire measures the lag from a schedule's nominal firing time to the start of
// the run it starts (the scheduled workflow resolves the version on the store queue, then
// starts the run), over 12 firings of a schedule every second. It reports
// schedule_fire_lag_p50_ms and _p99_ms.
func BenchmarkScheduleFire(b *testing.B) {
	ctx := context.Background()
	res := &memSchedules{latest: 1, graphs: memVersions{"g@1": mustGraph(b, quickDoc)}}
	cl := startCluster(b, b.TempDir(), Deps{Schedules: res})
	const firings = 12
	var lag []time.Duration
	b.ResetTimer()
	for range b.N {
		s := Schedule{ID: "sc-bench", GraphID: "g", Input: map[string]any{"name": "Ada"}, Every: time.Second, Overlap: OverlapAllowAll, By: "bench"}
		if err := cl.eng.CreateSchedule(ctx, s); err != nil {
			b.Fatal(err)
		}
		st := waitSchedule(b, cl.eng, s.ID, "12 firings", func(st *ScheduleState) bool { return st.Actions >= firings+1 })
		_ = cl.eng.DeleteSchedule(ctx, s.ID)
		for _, f := range st.Recent {
			r := waitRun(b, cl.eng, f.RunID, "it starts", func(*Run) bool { return true })
			lag = append(lag, r.StartedAt.Sub(f.At))
		}
	}
	b.StopTimer()
	slices.Sort(lag)
	ms := func(q float64) float64 { return float64(lag[int(q*float64(len(lag)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "lag_p50_ms")
	b.ReportMetric(ms(0.99), "lag_p99_ms")
}
