package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/internal/testsvc"
	"trellis/store"
	"trellis/templates"
)

// agentGanttDoc is an agent with a graph tool (lookup) and an http tool (refund) that waits
// for group finance.
func agentGanttDoc(lookup, shop string) string {
	return `{"format": "trellis.graph/v1", "name": "Agent gantt", "nodes": [{"id": "agent", "kind": "agent", "config": {
		"prompt": "Refund order A-7.", "tools": [
			{"name": "lookup", "description": "Finds an order.", "graph": "` + lookup + `", "version": 1},
			{"name": "refund", "description": "Refunds an amount of an order.",
			"parameters": {"type": "object", "required": ["order", "amount"],
				"properties": {"order": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}},
			"http": {"method": "POST", "url": "` + shop + `/refunds", "body": {"order": "{{ args.order }}", "amount": "{{ args.amount }}"}},
			"approval": {"assignee": "group:finance"}}]}}], "edges": []}`
}

// TestGanttAgentRows: on the embedded server, an agent's first turn calls a graph tool and
// an approval-gated http tool at once; the reviewer rejects the second; the model's next
// turn fails once (a 500) and then answers. The run page's timeline has, under the agent's
// row, a row per turn and per call in order (turn 1, its two calls, turn 2), labelled with
// the tool names: the graph tool's row holds its child run, the rejected call's row its
// wait for a person and is marked rejected, and turn 2's row says it took two attempts.
func TestGanttAgentRows(t *testing.T) {
	shop := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"refunded": true}`)
	})
	var mu sync.Mutex
	asked := 0
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		asked++
		n := asked
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case !strings.Contains(string(b), `"role":"tool"`):
			io.WriteString(w, `{"id": "c1", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 5, "completion_tokens": 5},
				"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Look it up and refund it.",
				"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"order\":\"A-7\"}"}},
					{"id": "call_2", "type": "function", "function": {"name": "refund", "arguments": "{\"order\":\"A-7\",\"amount\":4000}"}}]}}]}`)
		case n == 2:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error": {"message": "overloaded"}}`)
		default:
			io.WriteString(w, `{"id": "c2", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 5, "completion_tokens": 5},
				"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The refund was refused."}}]}`)
		}
	})
	tasks := &engineTasksForTest{}
	versions := &lateVersions{}
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: tasks, Providers: oneProvider{chat.URL}, Versions: versions})
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs = db, db, eng
		s.Config.Now = time.Now
	}))
	tasks.DB, versions.db = app.DB, app.DB
	ana := app.api("ana", store.RoleAnalyst)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	ana.publish(lookup, "v1")
	id := ana.createGraph("Agent gantt", agentGanttDoc(lookup, shop.URL))
	ana.publish(id, "v1")
	runID := ana.startRun(id, map[string]any{})

	var task *store.Task
	for deadline := time.Now().Add(90 * time.Second); task == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		task, _ = app.DB.GetTaskByNode(t.Context(), runID, "agent/1/1")
	}
	if task == nil {
		t.Fatal("no task for the refund call")
	}
	bob := app.memberClient("bob", "finance")
	form := url.Values{"outcome": {designer.ToolReject}, "data.order": {"A-7"}, "data.amount": {"4000"}, "comment": {"too much"}}
	var r *testResponse
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r = bob.postForm("/tasks/"+task.ID+"/decision", form)
		if r.StatusCode == http.StatusSeeOther || time.Now().After(deadline) {
			break
		}
	}
	wantStatus(t, r, http.StatusSeeOther)
	run := (&runCluster{eng: eng}).waitRun(t, runID, "it ends", runEnded)
	if run.Status != engine.RunCompleted {
		t.Fatalf("run ended %s: %+v", run.Status, run.Error)
	}

	page := app.signedIn("dev", store.RoleDeveloper).get("/runs/" + runID)
	wantStatus(t, page, http.StatusOK)
	var rows []string
	for _, m := range regexp.MustCompile(`<li class="tl-row[^"]*" data-testid="tl-row-([^"]+)" data-status="([^"]+)"`).FindAllStringSubmatch(page.Body, -1) {
		rows = append(rows, m[1]+"="+m[2])
	}
	want := "agent=completed agent/1=completed agent/1/0=completed agent/1/1=rejected agent/2=completed"
	if got := strings.Join(rows, " "); got != want {
		t.Fatalf("timeline rows = %s\nwant %s", got, want)
	}
	var labels []string
	for _, m := range regexp.MustCompile(`data-testid="tl-row-agent[^"]*"[^>]*><a [^>]*>([^<]*)<span class="visually-hidden">`).FindAllStringSubmatch(page.Body, -1) {
		labels = append(labels, strings.TrimSpace(m[1]))
	}
	if got := strings.Join(labels, " | "); got != "agent | agent · turn 1 | agent · turn 1 · lookup | agent · turn 1 · refund | agent · turn 2" {
		t.Errorf("row labels = %s", got)
	}
	bars := func(row string) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)data-testid="tl-bars-` + regexp.QuoteMeta(row) + `">(.*?)</g>\s*(<g data-node-id|<line class="tl-now|</svg>)`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("no bars of row %s", row)
		}
		return m[1]
	}
	if b := bars("agent/1/0"); !strings.Contains(b, "subgraph run "+runID+".agent.1.0") {
		t.Errorf("the graph tool's row lacks its child run: %s", b)
	}
	if b := bars("agent/1/1"); !strings.Contains(b, "waiting for a person") || !strings.Contains(b, "tl-person") {
		t.Errorf("the refund's row lacks its wait for a person: %s", b)
	}
	if !strings.Contains(page.Body, "tool call refund (call 2 of turn 1) of agent: rejected") || !strings.Contains(page.Body, "rejected by bob: too much") {
		t.Error("the rejected call's row does not say who rejected it and why")
	}
	// The turn runs in the worker (a local activity), which retries it there: one step, of
	// two attempts.
	if b := bars("agent/2"); strings.Count(b, `class="tl-bar tl-completed`) != 1 || !strings.Contains(b, "model turn, attempt 2") {
		t.Errorf("turn 2's row should hold its completed second attempt: %s", b)
	}
	if !strings.Contains(page.Body, "model turn 2 of agent: completed") || !strings.Contains(page.Body, "2 attempts") {
		t.Error("turn 2's row does not say it took two attempts")
	}
	if b := bars("agent"); !strings.Contains(b, "2 model turns, 2 tool calls") {
		t.Errorf("the agent's own row lacks the bar over its turns: %s", b)
	}
	// Selecting a turn's or call's row shows the agent in the inspector, with the conversation.
	if !strings.Contains(page.Body, `href="/runs/`+runID+`?node=agent" data-run-nav="true" title="tool call lookup`) {
		t.Error("a call's row does not select its agent")
	}
}

// agentTimeline is an agent that loaded its graph tool, then: turn 1 asked for an unknown
// tool and a call that waited for approval under a due timer; turn 2 asked for one more call
// and max_steps ended the agent before it ran.
func agentTimeline() *engine.Timeline {
	g := designer.Graph{Nodes: []designer.Node{{ID: "ag", Kind: designer.KindAgent}}}
	turn := func(ms int, out string) engine.TimelineEntry {
		return engine.TimelineEntry{Node: "ag", Step: engine.StepActivity, Name: agentTurnActivity, Attempt: 1, Status: engine.NodeCompleted,
			ScheduledAt: at(ms), StartedAt: at(ms), EndedAt: at(ms + 100), Output: []byte(out)}
	}
	t2 := turn(3000, `{"text": "", "tool_calls": [{"id": "c3", "name": "refund"}]}`)
	t2.Input = []byte(`{"messages": [{"ToolResults": [{"content": "there is no tool \"teleport\"", "is_error": true}, {"content": "ok"}]}]}`)
	return &engine.Timeline{RunID: "run-x", Definition: g, Status: engine.RunCompleted, StartedAt: t0, EndedAt: at(4000), Entries: []engine.TimelineEntry{
		{Node: "ag", Step: engine.StepActivity, Name: "graph.load", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(0), StartedAt: at(0), EndedAt: at(50)},
		turn(100, `{"text": "", "tool_calls": [{"id": "c1", "name": "teleport"}, {"id": "c2", "name": "refund"}]}`),
		{Node: "ag/1/1", Step: engine.StepActivity, Name: "approval.open", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(300), StartedAt: at(300), EndedAt: at(400)},
		{Node: "ag/1/1", Step: engine.StepPerson, Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(400), StartedAt: at(400), EndedAt: at(2000)},
		{Node: "ag", Step: engine.StepTimer, Name: "due 1h", Attempt: 1, Status: engine.NodeCancelled, ScheduledAt: at(410), StartedAt: at(410), EndedAt: at(2000)},
		{Node: "ag/1/1", Step: engine.StepActivity, Name: "http", Attempt: 1, Status: engine.NodeCompleted, ScheduledAt: at(2100), StartedAt: at(2100), EndedAt: at(2900)},
		t2,
	}}
}

// TestGanttAgentSteps: a call refused before it ran (an unknown tool) has a row with no bar
// that says what the model was told; an approval's due timer, which history names by the
// agent, is drawn on its call's row; a call max_steps left unrun is skipped; the agent's own
// row keeps the load of its tools and gets one bar over its turns and calls.
func TestGanttAgentSteps(t *testing.T) {
	p := buildGantt(ganttInput{tl: agentTimeline(), statuses: map[string]string{"ag": engine.NodeCompleted}, now: *at(5000), link: testLink})
	var got []string
	for _, r := range p.Rows {
		got = append(got, r.Node+"="+r.Status+"/"+strconv.Itoa(len(r.Bars)))
	}
	if s := strings.Join(got, " "); s != "ag=completed/2 ag/1=completed/1 ag/1/0=refused/0 ag/1/1=completed/4 ag/2=completed/1 ag/2/0=skipped/0" {
		t.Fatalf("rows = %s", s)
	}
	if r := p.Rows[2]; r.Label != "ag · turn 1 · teleport" || !strings.Contains(r.Title, `refused: there is no tool "teleport"`) {
		t.Errorf("refused call row = %+v", r)
	}
	if r := p.Rows[3]; r.Bars[1].Class != "tl-person" || r.Bars[2].Class != "tl-timer tl-stopped" || r.Bars[3].Class != "tl-completed" {
		t.Errorf("approval row bars = %+v", r.Bars)
	}
	if r := p.Rows[5]; !strings.Contains(r.Title, "not run") {
		t.Errorf("unrun call row = %+v", r)
	}
	if own := p.Rows[0]; !strings.Contains(own.Bars[0].Title, "graph.load") || !strings.Contains(own.Bars[1].Title, "2 model turns, 3 tool calls") || own.Bars[1].Open {
		t.Errorf("agent row bars = %+v", own.Bars)
	}
	if p.Height != float64(len(p.Rows))*ganttRowHeight+2 {
		t.Errorf("height %v for %d rows", p.Height, len(p.Rows))
	}
}

// TestAgentTurnsLocal: turns recorded as local activities (their result wraps the answer,
// which also carries the results the turn was sent) give the inspector the same
// conversation, and the timeline a row per turn.
func TestAgentTurnsLocal(t *testing.T) {
	local := func(out string) *engine.TimelineEntry {
		return &engine.TimelineEntry{Node: "ag", Step: engine.StepLocal, Name: agentTurnActivity, Attempt: 1,
			Status: engine.NodeCompleted, Output: []byte(`{"output": ` + out + `, "attempt": 1}`)}
	}
	entries := []*engine.TimelineEntry{
		local(`{"text": "Looking.", "tool_calls": [{"id": "c1", "name": "lookup", "args": {"id": "A-7"}}]}`),
		local(`{"text": "Shipped.", "results": [{"call_id": "c1", "name": "lookup", "content": "{\"status\":\"shipped\"}"}]}`),
	}
	var out any
	_ = json.Unmarshal([]byte(`{"text": "Shipped.", "steps": 2, "tool_calls": [{"step": 1, "name": "lookup", "args": {"id": "A-7"}, "status": "completed"}]}`), &out)
	turns := agentTurns(entries, out)
	if len(turns) != 2 || turns[0].Text != "Looking." || turns[1].Text != "Shipped." || len(turns[0].Calls) != 1 ||
		!strings.Contains(turns[0].Calls[0].Result, `"status": "shipped"`) {
		t.Fatalf("turns = %+v", turns)
	}
	tl := &engine.Timeline{RunID: "run-x", Definition: designer.Graph{Nodes: []designer.Node{{ID: "ag", Kind: designer.KindAgent}}},
		Status: engine.RunCompleted, StartedAt: t0, EndedAt: at(1000)}
	for i, e := range entries {
		e.ScheduledAt, e.StartedAt, e.EndedAt = at(i*500), at(i*500), at(i*500+100)
		tl.Entries = append(tl.Entries, *e)
	}
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{"ag": engine.NodeCompleted}, now: *at(1000), link: testLink})
	if got := strings.Join(rowIDs(p), " "); got != "ag ag/1 ag/1/0 ag/2" || p.Rows[2].Label != "ag · turn 1 · lookup" {
		t.Fatalf("rows = %s (%+v)", got, p.Rows)
	}
}

// TestGanttAgentRunning: while the agent runs, its bar over its turns and calls goes on to
// now, though the turn under way (a local activity) is not in history yet.
func TestGanttAgentRunning(t *testing.T) {
	tl := agentTimeline()
	tl.EndedAt, tl.Status = nil, engine.RunRunning
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{"ag": engine.NodeRunning}, now: *at(5000), link: testLink})
	bars := p.Rows[0].Bars
	if len(bars) != 2 || !bars[1].Open || bars[1].Class != "tl-running" || bars[1].X+bars[1].W < p.NowX-0.01 {
		t.Fatalf("agent row bars = %+v, now at %v", bars, p.NowX)
	}
}

// TestAgentAnswering: a running agent none of whose steps is open is waiting for its model
// (a local turn is in history once answered); one with a call in flight or a turn activity
// under way is not.
func TestAgentAnswering(t *testing.T) {
	tl := agentTimeline()
	if !agentAnswering(tl, "ag", nil) {
		t.Error("an agent with no step open is not waiting for its model")
	}
	tl.Entries = append(tl.Entries, engine.TimelineEntry{Node: "ag/2/0", Step: engine.StepActivity, Name: "http", Status: engine.NodeRunning})
	if agentAnswering(tl, "ag", nil) {
		t.Error("an agent with a call in flight is said to wait for its model")
	}
	if agentAnswering(agentTimeline(), "ag", []templates.RunAgentTurnView{{Turn: 1, Pending: true}}) {
		t.Error("a turn activity under way is counted twice")
	}
}
