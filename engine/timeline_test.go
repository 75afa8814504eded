package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"trellis/internal/testsvc"
	"trellis/store/storetest"
)

const timelineDir = "testdata/timeline"

// timelineRecording is a run recorded from the embedded server for the timeline goldens.
type timelineRecording struct {
	name  string
	graph string // $FLAKY fails twice then answers; $DOWN always answers 503
	input any
	// act, when set, drives the run once it is going (cancel it, decide its task).
	act  func(t *testing.T, cl *testCluster, runID string)
	want string
}

var timelineRecordings = []timelineRecording{
	{name: "attempts", want: RunCompleted,
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$FLAKY/items"},
			"retry": {"max_attempts": 4, "initial_interval": "1s", "backoff": 1}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.call.output.body.n"}}],
		  "edges": [{"from": "call", "to": "after"}]}`},
	{name: "exhausted", want: RunFailed,
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$DOWN/items"},
			"retry": {"max_attempts": 3, "initial_interval": "500ms", "backoff": 1}}], "edges": []}`},
	{name: "timers", want: RunCompleted,
		graph: `{"nodes": [{"id": "pause", "kind": "wait", "config": {"duration": "1s"}},
			{"id": "again", "kind": "wait", "config": {"duration": "500ms"}},
			{"id": "done", "kind": "transform", "config": {"value": "'done'"}}],
		  "edges": [{"from": "pause", "to": "again"}, {"from": "again", "to": "done"}]}`},
	{name: "child", want: RunCompleted, input: map[string]any{"n": 21},
		graph: `{"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "child", "version": 2, "input": "{ x: input.n }"}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.sub.output.double + 1"}}],
		  "edges": [{"from": "sub", "to": "after"}]}`},
	{name: "human", want: RunCompleted, act: decideReview,
		graph: `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "Check it", "assignee": "user:ann", "due": "1h"}},
			{"id": "done", "kind": "transform", "config": {"value": "nodes.review.output.outcome"}}],
		  "edges": [{"from": "review", "to": "done", "port": "approve"}]}`},
	{name: "due", want: RunCompleted,
		graph: `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "Check it", "assignee": "group:ops",
			"due": "1s", "on_due": {"outcome": "reject"}}},
			{"id": "late", "kind": "transform", "config": {"value": "'rejected when due'"}}],
		  "edges": [{"from": "review", "to": "late", "port": "reject"}]}`},
	{name: "cancelled", want: RunCancelled, act: cancelWhenWaiting,
		graph: `{"nodes": [{"id": "long", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "after", "kind": "transform", "config": {"value": "1"}}],
		  "edges": [{"from": "long", "to": "after"}]}`},
}

func decideReview(t *testing.T, cl *testCluster, id string) {
	waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	if err := cl.eng.Decide(context.Background(), id, "review", Decision{Outcome: "approve", Comment: "fine", By: "ann"}); err != nil {
		t.Fatalf("decide: %v", err)
	}
}

func cancelWhenWaiting(t *testing.T, cl *testCluster, id string) {
	waitRun(t, cl.eng, id, "running", func(r *Run) bool { return r.Nodes["long"].Status == NodeRunning })
	if err := cl.eng.CancelRun(context.Background(), id, "recording a cancellation"); err != nil {
		t.Fatal(err)
	}
}

// downServer always answers 503.
func downServer(tb testing.TB) *httptest.Server {
	s := testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	tb.Cleanup(s.Close)
	return s
}

// TestRecordTimelines runs each recording on the real embedded server and writes its history
// to testdata/timeline (go test ./engine/ -run TestRecordTimelines -update); run
// TestTimelineGoldens -update after it to write the goldens.
func TestRecordTimelines(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	ctx := context.Background()
	down := downServer(t)
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, Versions: memVersions{"child@2": mustGraph(t, childDouble)}})
	if err := os.MkdirAll(timelineDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range timelineRecordings {
		flaky := newFlakyServer(t, 2)
		src := strings.NewReplacer("$FLAKY", flaky.URL, "$DOWN", down.URL).Replace(r.graph)
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: r.name, Version: 1, Definition: mustGraph(t, src),
			Input: r.input, StartedBy: "recorder"})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if r.act != nil {
			r.act(t, cl, id)
		}
		run := waitRun(t, cl.eng, id, "ended", ended)
		if run.Status != r.want {
			t.Fatalf("%s: status %s, want %s: %s", r.name, run.Status, r.want, toJSON(run))
		}
		b, err := cl.eng.RunHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(timelineDir, r.name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadHistory reads a history written by RunHistory (or `temporal workflow show -o json`).
func loadHistory(tb testing.TB, path string) []*historypb.HistoryEvent {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var h historypb.History
	if err := (temporalproto.CustomJSONUnmarshalOptions{}).Unmarshal(b, &h); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return h.GetEvents()
}

// goldenTimeline is a timeline with times as offsets from the run's start, so goldens read
// as what happened when.
type goldenTimeline struct {
	Status  string        `json:"status"`
	Ended   string        `json:"ended"`
	Error   *NodeError    `json:"error"`
	Cancel  string        `json:"cancel_reason,omitempty"`
	Entries []goldenEntry `json:"entries"`
}

type goldenEntry struct {
	Node      string          `json:"node"`
	Kind      string          `json:"kind"`
	Step      string          `json:"step"`
	Name      string          `json:"name,omitempty"`
	Attempt   int             `json:"attempt"`
	Status    string          `json:"status"`
	Scheduled string          `json:"scheduled"`
	Started   string          `json:"started"`
	Ended     string          `json:"ended"`
	Error     *NodeError      `json:"error,omitempty"`
	ChildRun  bool            `json:"child_run,omitempty"`
	Decision  json.RawMessage `json:"decision,omitempty"`
	HasInput  bool            `json:"has_input,omitempty"`
	HasOutput bool            `json:"has_output,omitempty"`
}

func golden(tl *Timeline) goldenTimeline {
	off := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return "+" + t.Sub(tl.StartedAt).Round(100*time.Millisecond).String()
	}
	g := goldenTimeline{Status: tl.Status, Ended: off(tl.EndedAt), Error: tl.Error, Cancel: tl.CancelReason}
	for _, e := range tl.Entries {
		ge := goldenEntry{Node: e.Node, Kind: e.Kind, Step: e.Step, Name: e.Name, Attempt: e.Attempt, Status: e.Status,
			Scheduled: off(e.ScheduledAt), Started: off(e.StartedAt), Ended: off(e.EndedAt), Error: e.Error,
			ChildRun: e.ChildRun != "", HasInput: e.Input != nil, HasOutput: e.Output != nil}
		if e.Decision != nil {
			var d map[string]any
			_ = json.Unmarshal(e.Decision, &d)
			ge.Decision, _ = json.Marshal(map[string]any{"outcome": d["outcome"], "by": d["by"]})
		}
		g.Entries = append(g.Entries, ge)
	}
	return g
}

// TestTimelineGoldens builds the timeline of every recorded history and compares it with its
// golden (-update rewrites them), then checks what each recording is about.
func TestTimelineGoldens(t *testing.T) {
	for _, r := range timelineRecordings {
		t.Run(r.name, func(t *testing.T) {
			path := filepath.Join(timelineDir, r.name+".json")
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("history %s is missing; record with -run TestRecordTimelines -update", path)
			}
			tl, err := BuildTimeline(loadHistory(t, path), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(golden(tl), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gpath := filepath.Join(timelineDir, r.name+".golden")
			if *update {
				if err := os.WriteFile(gpath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("golden %s: %v (write it with -update)", gpath, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("timeline of %s differs from %s:\n%s", r.name, gpath, got)
			}
			if tl.Status != r.want || tl.GraphID != r.name || tl.Version != 1 || tl.StartedBy != "recorder" ||
				len(tl.Definition.Nodes) == 0 {
				t.Errorf("run = %s %s v%d by %s with %d nodes", tl.Status, tl.GraphID, tl.Version, tl.StartedBy, len(tl.Definition.Nodes))
			}
			checkTimeline[r.name](t, tl)
			for i := 1; i < len(tl.Entries); i++ {
				if a, b := sortTime(&tl.Entries[i-1]), sortTime(&tl.Entries[i]); !a.IsZero() && !b.IsZero() && b.Before(a) {
					t.Errorf("entry %d (%s) comes before entry %d (%s) in time", i, b, i-1, a)
				}
			}
		})
	}
}

func sortTime(e *TimelineEntry) time.Time {
	for _, t := range []*time.Time{e.ScheduledAt, e.StartedAt, e.EndedAt} {
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// entriesOf picks the entries of a node and step.
func entriesOf(tl *Timeline, node, step string) []TimelineEntry {
	var out []TimelineEntry
	for _, e := range tl.Entries {
		if e.Node == node && e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

// checkFailedAttempt says what is wrong with an attempt that should have failed with errType
// and have its own times.
func checkFailedAttempt(t *testing.T, e TimelineEntry, n int, errType string) {
	t.Helper()
	if e.Attempt != n || e.Status != NodeFailed || e.Error == nil || e.Error.Type != errType ||
		e.StartedAt == nil || e.EndedAt == nil || e.ScheduledAt == nil || e.EndedAt.Before(*e.StartedAt) {
		t.Errorf("attempt %d = %s, want failed with %s and its times", n, toJSON(e), errType)
	}
}

var checkTimeline = map[string]func(t *testing.T, tl *Timeline){
	// Three attempts, the first two with their own error and times, though history keeps
	// only the last failure.
	"attempts": func(t *testing.T, tl *Timeline) {
		calls := entriesOf(tl, "call", StepActivity)
		if len(calls) != 3 {
			t.Fatalf("call has %d attempts, want 3: %s", len(calls), toJSON(calls))
		}
		checkFailedAttempt(t, calls[0], 1, ErrTypeHTTPStatus)
		checkFailedAttempt(t, calls[1], 2, ErrTypeHTTPStatus)
		if !strings.Contains(calls[0].Error.Message, "500") {
			t.Errorf("attempt 1 error = %s", calls[0].Error.Message)
		}
		if c := calls[2]; c.Attempt != 3 || c.Status != NodeCompleted || c.Error != nil || c.StartedAt == nil ||
			!c.ScheduledAt.Equal(*calls[1].EndedAt) || c.StartedAt.Sub(*c.ScheduledAt) < 900*time.Millisecond {
			t.Errorf("attempt 3 = %s, want completed, scheduled when attempt 2 ended and started after the 1s backoff", toJSON(c))
		}
		if len(entriesOf(tl, "after", StepLocal)) != 1 {
			t.Errorf("the transform after it is missing: %s", toJSON(tl.Entries))
		}
	},
	// Every attempt failed; the run failed with the last error.
	"exhausted": func(t *testing.T, tl *Timeline) {
		calls := entriesOf(tl, "call", StepActivity)
		if len(calls) != 3 {
			t.Fatalf("call has %d attempts, want 3: %s", len(calls), toJSON(calls))
		}
		for i, c := range calls {
			checkFailedAttempt(t, c, i+1, ErrTypeHTTPStatus)
		}
		if tl.Error == nil || !strings.Contains(tl.Error.Message, "503") {
			t.Errorf("run error = %+v", tl.Error)
		}
	},
	"timers": func(t *testing.T, tl *Timeline) {
		for node, d := range map[string]time.Duration{"pause": time.Second, "again": 500 * time.Millisecond} {
			ts := entriesOf(tl, node, StepTimer)
			if len(ts) != 1 || ts[0].Status != NodeCompleted || ts[0].Kind != "wait" || ts[0].EndedAt.Sub(*ts[0].StartedAt) < d {
				t.Errorf("%s timers = %s, want one of %s, fired", node, toJSON(ts), d)
			}
		}
		if !entriesOf(tl, "again", StepTimer)[0].StartedAt.After(*entriesOf(tl, "pause", StepTimer)[0].EndedAt) {
			t.Error("again's timer started before pause's fired")
		}
	},
	"child": func(t *testing.T, tl *Timeline) {
		loads := entriesOf(tl, "sub", StepActivity)
		kids := entriesOf(tl, "sub", StepChild)
		if len(loads) != 1 || loads[0].Name != activityLoadSubgraph || len(kids) != 1 {
			t.Fatalf("sub = %s, want the load and one child run", toJSON(append(loads, kids...)))
		}
		k := kids[0]
		if k.Status != NodeCompleted || k.ChildRun != tl.RunID+".sub" || k.StartedAt == nil ||
			string(k.Input) != `{"x":21}` || string(k.Output) != `{"double":42}` {
			t.Errorf("child = %s input %s output %s", toJSON(k), k.Input, k.Output)
		}
	},
	"human": func(t *testing.T, tl *Timeline) {
		waits := entriesOf(tl, "review", StepPerson)
		decs := entriesOf(tl, "review", StepDecision)
		if len(waits) != 1 || len(decs) != 1 {
			t.Fatalf("review = %s, want one wait and one decision", toJSON(tl.Entries))
		}
		w, d := waits[0], decs[0]
		if w.Status != NodeCompleted || w.EndedAt == nil || !w.EndedAt.Equal(*d.StartedAt) || d.Status != NodeCompleted ||
			d.Name != UpdateDecide || !strings.Contains(string(d.Decision), `"outcome":"approve"`) {
			t.Errorf("wait %s, decision %s (%s)", toJSON(w), toJSON(d), d.Decision)
		}
		if ts := entriesOf(tl, "review", StepTimer); len(ts) != 1 || ts[0].Status != NodeCancelled || ts[0].Name != "due 1h" ||
			!ts[0].EndedAt.Equal(*w.EndedAt) {
			t.Errorf("due timer = %s, want cancelled by the decision, ending with the wait at %s", toJSON(ts), w.EndedAt)
		}
	},
	"due": func(t *testing.T, tl *Timeline) {
		ts := entriesOf(tl, "review", StepTimer)
		waits := entriesOf(tl, "review", StepPerson)
		if len(ts) != 1 || ts[0].Status != NodeCompleted || len(waits) != 1 || waits[0].Status != NodeCompleted ||
			waits[0].EndedAt.Before(*ts[0].EndedAt) || len(entriesOf(tl, "review", StepDecision)) != 0 {
			t.Errorf("review = %s, want the due timer fired and the wait ended by the automatic decision", toJSON(tl.Entries))
		}
	},
	"cancelled": func(t *testing.T, tl *Timeline) {
		ts := entriesOf(tl, "long", StepTimer)
		if len(ts) != 1 || ts[0].Status != NodeCancelled || tl.CancelRequestedAt == nil || tl.EndedAt == nil ||
			!strings.Contains(tl.CancelReason, "recording a cancellation") {
			t.Errorf("timeline = %s", toJSON(tl))
		}
	},
}

// TestTimelineHistoryErrors: a history that is not a run's gives an error, not a panic.
func TestTimelineHistoryErrors(t *testing.T) {
	if _, err := BuildTimeline(nil, nil); err == nil {
		t.Error("empty history: no error")
	}
	ev := &historypb.HistoryEvent{EventId: 1, EventType: enumspb.EVENT_TYPE_TIMER_FIRED, EventTime: timestamppb.Now()}
	if _, err := BuildTimeline([]*historypb.HistoryEvent{ev}, nil); err == nil {
		t.Error("history without a start: no error")
	}
}

// TestTimelinePendingAttempts: for an activity still retrying, history has only its
// scheduling; the server's view of it (attempt, last failure, the records it heartbeat)
// gives the attempts so far.
func TestTimelinePendingAttempts(t *testing.T) {
	events := loadHistory(t, filepath.Join(timelineDir, "attempts.json"))
	// Cut the history after the activity was scheduled.
	var cut []*historypb.HistoryEvent
	for _, ev := range events {
		cut = append(cut, ev)
		if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			break
		}
	}
	t0 := cut[len(cut)-1].GetEventTime().AsTime()
	recs := []attemptRecord{
		{Attempt: 1, StartedAt: t0.Add(10 * time.Millisecond), EndedAt: t0.Add(20 * time.Millisecond), Error: NodeError{Type: "HTTPStatus", Message: "first"}},
		{Attempt: 2, StartedAt: t0.Add(1020 * time.Millisecond), EndedAt: t0.Add(1030 * time.Millisecond), Error: NodeError{Type: "HTTPStatus", Message: "second"}},
	}
	tests := []struct {
		name       string
		state      enumspb.PendingActivityState
		wantStatus string
		wantStart  bool
	}{
		{"backing off", enumspb.PENDING_ACTIVITY_STATE_SCHEDULED, NodePending, false},
		{"third attempt running", enumspb.PENDING_ACTIVITY_STATE_STARTED, NodeRunning, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &workflowpb.PendingActivityInfo{ActivityId: "call", State: tc.state, Attempt: 3,
				HeartbeatDetails: mustPayloads(t, recs), LastStartedTime: timestamppb.New(t0.Add(2 * time.Second)),
				ScheduledTime: timestamppb.New(t0.Add(2030 * time.Millisecond)),
				LastFailure:   &failurepb.Failure{Message: "second", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "HTTPStatus"}}}}
			tl, err := BuildTimeline(cut, []*workflowpb.PendingActivityInfo{p})
			if err != nil {
				t.Fatal(err)
			}
			calls := entriesOf(tl, "call", StepActivity)
			if len(calls) != 3 || calls[0].Error.Message != "first" || calls[1].Error.Message != "second" ||
				calls[2].Status != tc.wantStatus || (calls[2].StartedAt != nil) != tc.wantStart {
				t.Errorf("calls = %s", toJSON(calls))
			}
			// Without the server's view the activity is only known to be scheduled.
			tl, _ = BuildTimeline(cut, nil)
			if calls := entriesOf(tl, "call", StepActivity); len(calls) != 1 || calls[0].Status != NodePending {
				t.Errorf("without pending info: %s", toJSON(calls))
			}
		})
	}
}

func mustPayloads(tb testing.TB, v any) *commonpb.Payloads {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: b}}}
}

// TestTimelineOnServer is the promise end to end: an http node that fails twice and then
// succeeds shows three attempts, the first two with their errors; the raw history downloads;
// runs list with who started them and are counted.
func TestTimelineOnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	flaky := newFlakyServer(t, 2)
	cl := startCluster(t, t.TempDir(), Deps{})
	g := mustGraph(t, fmt.Sprintf(`{"nodes": [{"id": "call", "kind": "http", "config": {"url": "%s/x"},
		"retry": {"max_attempts": 3, "initial_interval": "200ms", "backoff": 1}}], "edges": []}`, flaky.URL))
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "flaky", Version: 2, Definition: g, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id, "ended", ended)
	tl, err := cl.eng.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	calls := entriesOf(tl, "call", StepActivity)
	if len(calls) != 3 {
		t.Fatalf("attempts = %s, want 3", toJSON(calls))
	}
	checkFailedAttempt(t, calls[0], 1, ErrTypeHTTPStatus)
	checkFailedAttempt(t, calls[1], 2, ErrTypeHTTPStatus)
	if calls[2].Status != NodeCompleted || tl.Status != RunCompleted || tl.StartedBy != "ann" || tl.Version != 2 {
		t.Errorf("timeline = %s", toJSON(tl))
	}
	if hits := flaky.hits.Load(); hits != 3 {
		t.Errorf("server saw %d requests, want 3", hits)
	}

	raw, err := cl.eng.RunHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := (temporalproto.CustomJSONUnmarshalOptions{}).Unmarshal(raw, &h); err != nil || len(h.GetEvents()) < 5 {
		t.Fatalf("history download: %d events, %v", len(h.GetEvents()), err)
	}
	if _, err := cl.eng.Timeline(ctx, "run-nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("timeline of a missing run: %v", err)
	}
	if _, err := cl.eng.RunHistory(ctx, "run-nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("history of a missing run: %v", err)
	}

	// Visibility is eventually consistent; poll.
	var rows []RunRow
	var n int
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		rows, _, err = cl.eng.ListRunRows(ctx, RunFilter{GraphID: "flaky"})
		n, _ = cl.eng.CountRuns(ctx, "flaky")
		if err == nil && len(rows) == 1 && rows[0].Status == RunCompleted && n == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != 1 || rows[0].RunID != id || rows[0].StartedBy != "ann" || rows[0].Version != 2 || rows[0].EndedAt == nil {
		t.Errorf("rows = %s, %v", toJSON(rows), err)
	}
	if n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
	if _, err := cl.eng.CountRuns(ctx, "bad'id"); !errors.Is(err, ErrBadFilter) {
		t.Errorf("count with a bad graph id: %v", err)
	}
}

// BenchmarkBuildTimelineRecorded builds the timeline of each recorded history.
func BenchmarkBuildTimelineRecorded(b *testing.B) {
	var all [][]*historypb.HistoryEvent
	for _, r := range timelineRecordings {
		all = append(all, loadHistory(b, filepath.Join(timelineDir, r.name+".json")))
	}
	for b.Loop() {
		for _, events := range all {
			if _, err := BuildTimeline(events, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
