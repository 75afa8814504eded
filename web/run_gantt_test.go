package web

import (
	"strings"
	"testing"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(ms int) *time.Time {
	t := t0.Add(time.Duration(ms) * time.Millisecond)
	return &t
}

// diamondTimeline: a → (fast, slow) → join; slow retried once and took longest, so the
// critical path is a, slow, join. A timer node waits beside it.
func diamondTimeline() *engine.Timeline {
	g := designer.Graph{Nodes: []designer.Node{{ID: "a", Kind: "http"}, {ID: "fast", Kind: "http"}, {ID: "slow", Kind: "http", Label: "Slow one"},
		{ID: "join", Kind: "transform"}, {ID: "nap", Kind: "wait"}, {ID: "never", Kind: "transform"}},
		Edges: []designer.Edge{{From: "a", To: "fast"}, {From: "a", To: "slow"}, {From: "fast", To: "join"}, {From: "slow", To: "join"},
			{From: "join", To: "never", Port: "error"}}}
	httpErr := &engine.NodeError{Type: "HTTPStatus", Message: "unexpected HTTP status 503"}
	return &engine.Timeline{RunID: "run-x", GraphID: "g", Version: 1, Definition: g, Status: engine.RunCompleted,
		StartedAt: t0, EndedAt: at(10000), Entries: []engine.TimelineEntry{
			{Node: "a", Step: engine.StepActivity, Name: "http", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(0), StartedAt: at(10), EndedAt: at(1000)},
			{Node: "nap", Step: engine.StepTimer, Name: "5s", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(0), StartedAt: at(0), EndedAt: at(5000)},
			{Node: "fast", Step: engine.StepActivity, Name: "http", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(1100), StartedAt: at(1100), EndedAt: at(2000)},
			{Node: "slow", Step: engine.StepActivity, Name: "http", Attempt: 1, Status: engine.NodeFailed, ScheduledAt: at(1100), StartedAt: at(1100), EndedAt: at(2000), Error: httpErr},
			{Node: "slow", Step: engine.StepActivity, Name: "http", Attempt: 2, Status: engine.NodeCompleted, ScheduledAt: at(2000), StartedAt: at(4000), EndedAt: at(9000)},
			{Node: "join", Step: engine.StepLocal, Name: "transform", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(9500), StartedAt: at(9500), EndedAt: at(9600)},
		}}
}

func testLink(v ganttView) templates.RunLink { return templates.RunLink{Page: runShowURL("run-x", v)} }

func TestBuildGantt(t *testing.T) {
	tl := diamondTimeline()
	statuses := map[string]string{"a": "completed", "fast": "completed", "slow": "completed", "join": "completed", "nap": "completed", "never": "skipped"}
	tests := []struct {
		name       string
		view       ganttView
		window     string
		slowBars   int
		zoomed     bool
		wantLinks  []string // ZoomIn, ZoomOut, Earlier, Later that must be there
		wantNoLink []string
	}{
		{name: "whole run", view: ganttView{}, window: "Whole run: 10.0 s", slowBars: 2,
			wantLinks: []string{"in"}, wantNoLink: []string{"out", "earlier", "later"}},
		{name: "the second half", view: ganttView{From: 5 * time.Second, To: 10 * time.Second}, window: "5s – 10s of 10.0 s", slowBars: 1, zoomed: true,
			wantLinks: []string{"in", "out", "earlier"}, wantNoLink: []string{"later"}},
		{name: "wider than the run is the whole run", view: ganttView{From: 8 * time.Second, To: 20 * time.Second}, window: "Whole run: 10.0 s",
			slowBars: 2, wantLinks: []string{"in"}, wantNoLink: []string{"out"}},
		{name: "past the end is moved back", view: ganttView{From: 9 * time.Second, To: 11 * time.Second}, window: "8s – 10s of 10.0 s",
			slowBars: 1, zoomed: true, wantLinks: []string{"earlier"}, wantNoLink: []string{"later"}},
		{name: "the first second", view: ganttView{From: 0, To: time.Second, Node: "a"}, window: "0 – 1s of 10.0 s", slowBars: 0, zoomed: true,
			wantLinks: []string{"in", "out", "later"}, wantNoLink: []string{"earlier"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := buildGantt(ganttInput{tl: tl, statuses: statuses, now: *tl.EndedAt, view: tc.view, link: testLink})
			if p.Window != tc.window || p.Zoomed != tc.zoomed {
				t.Errorf("window %q zoomed %v, want %q %v", p.Window, p.Zoomed, tc.window, tc.zoomed)
			}
			var order []string
			rows := map[string]templates.TimelineRow{}
			for _, r := range p.Rows {
				order = append(order, r.Node)
				rows[r.Node] = r
			}
			// Rows in the order nodes began; the node that never ran last.
			if got := strings.Join(order, " "); got != "a nap fast slow join never" {
				t.Errorf("rows = %s", got)
			}
			if n := len(rows["slow"].Bars); n != tc.slowBars {
				t.Errorf("slow has %d bars, want %d", n, tc.slowBars)
			}
			for _, r := range p.Rows {
				for _, b := range r.Bars {
					if b.X < 0 || b.X+b.W > 100.0001 || b.W <= 0 || b.QueueX < 0 {
						t.Errorf("%s: bar outside the plot: %+v", r.Node, b)
					}
				}
			}
			links := map[string]string{"in": p.ZoomIn.Page, "out": p.ZoomOut.Page, "earlier": p.Earlier.Page, "later": p.Later.Page}
			for _, k := range tc.wantLinks {
				if links[k] == "" {
					t.Errorf("no %s link", k)
				}
			}
			for _, k := range tc.wantNoLink {
				if links[k] != "" {
					t.Errorf("%s link %q, want none", k, links[k])
				}
			}
			if rows[tc.view.Node].Node != "" && !rows[tc.view.Node].Selected {
				t.Errorf("%s is not selected", tc.view.Node)
			}
		})
	}

	p := buildGantt(ganttInput{tl: tl, statuses: statuses, now: *tl.EndedAt, link: testLink})
	var crit []string
	for _, r := range p.Rows {
		if r.Critical {
			crit = append(crit, r.Node)
		}
	}
	if strings.Join(crit, " ") != "a slow join" || !p.HasCritical {
		t.Errorf("critical path = %v, want a slow join", crit)
	}
	var slow templates.TimelineRow
	for _, r := range p.Rows {
		if r.Node == "slow" {
			slow = r
		}
	}
	first, second := slow.Bars[0], slow.Bars[1]
	if !strings.Contains(first.Class, "tl-failed") || !strings.Contains(first.Title, "unexpected HTTP status 503") ||
		!strings.Contains(second.Class, "tl-completed tl-critical") || second.QueueW < 19 || second.QueueW > 21 || second.Label != "#2" {
		t.Errorf("slow's bars = %+v", slow.Bars)
	}
	if !strings.Contains(second.Title, "waited 2.00 s before starting") {
		t.Errorf("second attempt's title = %q", second.Title)
	}
	if len(p.Ticks) < 4 || p.Ticks[0].Label != "0" || p.Ticks[1].Label != "2s" {
		t.Errorf("ticks = %+v", p.Ticks)
	}
}

// TestBuildGanttRunning: a run still going ends its open steps now and marks the present.
func TestBuildGanttRunning(t *testing.T) {
	tl := diamondTimeline()
	tl.EndedAt, tl.Status = nil, engine.RunRunning
	tl.Entries = tl.Entries[:5]
	tl.Entries[4].EndedAt, tl.Entries[4].Status = nil, engine.NodeRunning
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{"slow": "running"}, now: *at(6000), link: testLink})
	// 6 s into the run, on the live scale of a minute.
	if !p.ShowNow || p.NowX < 9.9 || p.NowX > 10.1 || p.Horizon != 60000 {
		t.Errorf("now at %v (shown %v) of %d ms, want 10%% of a minute", p.NowX, p.ShowNow, p.Horizon)
	}
	for _, r := range p.Rows {
		if r.Node == "slow" && (len(r.Bars) != 2 || !strings.Contains(r.Bars[1].Class, "tl-running") || !strings.Contains(r.Bars[1].Title, "running for 2.00 s")) {
			t.Errorf("slow = %+v", r.Bars)
		}
		if r.Node == "join" && (r.Status != engine.NodePending || len(r.Bars) != 0) {
			t.Errorf("join = %+v", r)
		}
	}
}

func TestGanttTicks(t *testing.T) {
	tests := []struct {
		from, to time.Duration
		want     string
	}{
		{0, 10 * time.Second, "0 2s 4s 6s 8s 10s"},
		{1500 * time.Millisecond, 2500 * time.Millisecond, "1.6s 1.8s 2s 2.2s 2.4s"},
		{0, 90 * time.Minute, "0 15m00s 30m00s 45m00s 1h00m 1h15m 1h30m"},
		{0, 30 * 24 * time.Hour, "0 7d00h 14d00h 21d00h 28d00h"},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range ganttTicks(tc.from, tc.to) {
			got = append(got, ganttOffset(tk))
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("ticks %s–%s = %s, want %s", tc.from, tc.to, s, tc.want)
		}
	}
}

func TestRunDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 ms"},
		{850 * time.Millisecond, "850 ms"},
		{1234 * time.Millisecond, "1.23 s"},
		{12345 * time.Millisecond, "12.3 s"},
		{4*time.Minute + 5*time.Second, "4 min 05 s"},
		{2*time.Hour + 3*time.Minute, "2 h 03 min"},
		{75 * time.Hour, "3 d 3 h"},
	}
	for _, tc := range tests {
		if got := runDuration(tc.d); got != tc.want {
			t.Errorf("runDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestBuildGanttLanes: steps of one node that overlap (a wait for a person and its due
// timer) get lanes of the row; steps one after the other share a lane.
func TestBuildGanttLanes(t *testing.T) {
	g := designer.Graph{Nodes: []designer.Node{{ID: "review", Kind: "approval"}}}
	tl := &engine.Timeline{RunID: "run-x", Definition: g, Status: engine.RunCompleted, StartedAt: t0, EndedAt: at(5000),
		Entries: []engine.TimelineEntry{
			{Node: "review", Step: engine.StepActivity, Name: "approval.open", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(0), StartedAt: at(0), EndedAt: at(100)},
			{Node: "review", Step: engine.StepPerson, Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(100), StartedAt: at(100), EndedAt: at(4000)},
			{Node: "review", Step: engine.StepTimer, Name: "due 1h", Attempt: 1, Status: engine.NodeCancelled, ScheduledAt: at(110), StartedAt: at(110), EndedAt: at(4100)},
			{Node: "review", Step: engine.StepDecision, Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(4000), StartedAt: at(4000), EndedAt: at(4100)},
		}}
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{"review": "completed"}, now: *tl.EndedAt, link: testLink})
	bars := p.Rows[0].Bars
	if len(bars) != 4 {
		t.Fatalf("bars = %+v", bars)
	}
	lane0, lane1 := bars[0].Y, bars[2].Y
	if bars[1].Y != lane0 || bars[3].Y != lane0 || lane1 <= lane0 || bars[0].H > (ganttRowHeight-8)/2 ||
		!strings.Contains(bars[1].Class, "tl-person") || !strings.Contains(bars[2].Class, "tl-timer") {
		t.Errorf("bars = %+v, want the timer in a second lane", bars)
	}
}

// TestGanttPauses: an operator's pause is shaded over the plot where it was and said in words
// with who and why; one still open at the end of the run says so; a zoomed window that
// does not reach it draws no shade but keeps the words.
func TestGanttPauses(t *testing.T) {
	tl := diamondTimeline()
	tl.Pauses = []engine.TimelinePause{
		{From: *at(2000), By: "dev", Comment: "look first", To: at(4000), ResumedBy: "ops"},
		{From: *at(9600), By: "dev"},
	}
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{}, now: *tl.EndedAt, link: testLink})
	if len(p.Pauses) != 2 {
		t.Fatalf("pauses = %+v", p.Pauses)
	}
	first, second := p.Pauses[0], p.Pauses[1]
	if !first.Shown || first.X < 19.9 || first.X > 20.1 || first.W < 19.9 || first.W > 20.1 {
		t.Errorf("first pause at %.1f%% for %.1f%%, want 20%% for 20%%", first.X, first.W)
	}
	if want := "Paused 2s into the run by dev (look first); resumed 2.00 s later by ops"; first.Text != want {
		t.Errorf("first pause says %q, want %q", first.Text, want)
	}
	if !strings.HasSuffix(second.Text, "still paused when the run ended") || second.X+second.W > 100.01 {
		t.Errorf("second pause = %+v", second)
	}
	var b strings.Builder
	if err := templates.Timeline(p).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `data-testid="tl-paused"`); n != 2 || !strings.Contains(b.String(), "look first") {
		t.Errorf("the page shades %d pauses or lacks the comment", n)
	}

	zoomed := buildGantt(ganttInput{tl: tl, statuses: map[string]string{}, now: *tl.EndedAt, link: testLink,
		view: ganttView{From: 5 * time.Second, To: 9 * time.Second}})
	if zoomed.Pauses[0].Shown || zoomed.Pauses[1].Shown || zoomed.Pauses[0].Text != first.Text {
		t.Errorf("zoomed to 5s–9s: %+v", zoomed.Pauses)
	}
}
