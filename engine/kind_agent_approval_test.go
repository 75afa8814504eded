package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/designer"
	"trellis/internal/testsvc"
	"trellis/store"
	"trellis/store/storetest"
)

// chatToolCallsSaying is chatToolCalls with the model's text beside the calls.
func chatToolCallsSaying(text string, calls ...string) chatReply {
	r := chatToolCalls(calls...)
	var body map[string]any
	_ = json.Unmarshal([]byte(r.body), &body)
	body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"] = text
	b, _ := json.Marshal(body)
	return chatReply{body: string(b)}
}

// refundDesk records the refunds it is asked for.
type refundDesk struct {
	url string
	mu  sync.Mutex
	got []string
}

func newRefundDesk(t *testing.T) *refundDesk {
	d := &refundDesk{}
	srv := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.got = append(d.got, strings.TrimSpace(string(body)))
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"refunded": true}`)
	}))
	d.url = srv.URL
	return d
}

func (d *refundDesk) refunds() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

func approvalAgentGraph(desk string) string {
	return `{"nodes": [{"id": "support", "kind": "agent", "config": {
		"prompt": "{{ input.message }}", "max_steps": 5,
		"json_schema": {"type": "object", "required": ["done"], "properties": {"done": {"type": "boolean"}}},
		"tools": [{"name": "refund", "description": "Refunds an amount of an order.",
			"parameters": {"type": "object", "required": ["order", "amount"],
				"properties": {"order": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}},
			"http": {"method": "POST", "url": "` + desk + `/refunds", "body": {"order": "{{ args.order }}", "amount": "{{ args.amount }}"}},
			"approval": {"assignee": "group:finance"}}]}}], "edges": []}`
}

// waitCallTask polls the store until the task of a tool call is open.
func waitCallTask(tb testing.TB, db *store.DB, runID, callID string) *store.Task {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if t, err := db.GetTaskByNode(context.Background(), runID, callID); err == nil && t.State == store.TaskOpen {
			return t
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("run %s: no open task for call %s", runID, callID)
	return nil
}

// decideCall hands a decision to a call's task, offering it again while the run has not
// yet taken up the wait (the store has the task a moment before), as actions.Decide does.
func decideCall(tb testing.TB, cl *testCluster, runID, callID string, d Decision) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := cl.eng.Decide(context.Background(), runID, callID, d)
		if decisionReason(err) != DecisionNotWaiting || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runApprovalAgent is an agent run whose refund tool waits for approval: turn 1 proposes a
// refund of 4000 that the reviewer edits to 400; turn 2 proposes two refunds at once (both
// wait, in parallel), one approved as proposed and one rejected with a reason; turn 3
// answers. It returns the run id after checking what the refund desk and the model got.
func runApprovalAgent(t *testing.T, cl *testCluster, db *store.DB, desk *refundDesk, chat *chatServer) string {
	t.Helper()
	ctx := context.Background()
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "support", Version: 1, StartedBy: "ann",
		Definition: mustGraph(t, approvalAgentGraph(desk.url)), Input: map[string]any{"message": "Refund order A-7."}})
	if err != nil {
		t.Fatal(err)
	}
	bob := Decision{By: "bob", Groups: []string{"finance"}}
	task := waitCallTask(t, db, id, "support/1/0")
	if !strings.Contains(task.Title, "refund") || !strings.Contains(task.Instructions, "The customer asked for it.") ||
		!strings.Contains(task.Instructions, `"amount": 4000`) || task.Assignee != "group:finance" {
		t.Errorf("task = %q / %q / %s", task.Title, task.Instructions, task.Assignee)
	}
	if !strings.Contains(string(task.Form), `"default":4000`) {
		t.Errorf("form = %s, want the proposed amount as its default", task.Form)
	}
	if run := waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting }); run.Nodes["support"].Status != NodeWaiting {
		t.Errorf("node while its call waits = %s", run.Nodes["support"].Status)
	}
	if len(desk.refunds()) != 0 {
		t.Fatal("the refund was made before its approval")
	}
	bad := bob
	bad.Outcome, bad.Data = designer.ToolApprove, map[string]any{"amount": -1}
	if err := decideCall(t, cl, id, "support/1/0", bad); decisionReason(err) != DecisionInvalid {
		t.Errorf("a negative amount = %v, want refused as invalid", err)
	}
	edit := bob
	edit.Outcome, edit.Data = designer.ToolApprove, map[string]any{"amount": 400}
	if err := decideCall(t, cl, id, "support/1/0", edit); err != nil {
		t.Fatalf("approve with an edit: %v", err)
	}
	waitCallTask(t, db, id, "support/2/0")
	waitCallTask(t, db, id, "support/2/1")
	ok := bob
	ok.Outcome = designer.ToolApprove
	if err := decideCall(t, cl, id, "support/2/1", ok); err != nil {
		t.Fatalf("approve: %v", err)
	}
	no := bob
	no.Outcome, no.Comment = designer.ToolReject, "B-2 was refunded last week"
	if err := decideCall(t, cl, id, "support/2/0", no); err != nil {
		t.Fatalf("reject: %v", err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("status %s (%+v)", run.Status, run.Error)
	}
	got := desk.refunds()
	if len(got) != 2 || got[0] != `{"amount":400,"order":"A-7"}` || got[1] != `{"amount":15,"order":"C-3"}` {
		t.Errorf("refunds made = %q, want the edited 400 for A-7 and C-3's 15", got)
	}
	return id
}

// TestAgentToolApproval: on the embedded server with the real task store, each call of a
// tool with approval waits for the reviewer, who edits the arguments (the tool gets the
// edited value, the output records the diff), approves as proposed, or rejects (the reason
// reaches the model as the tool's result); the final answer fits the schema.
func TestAgentToolApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	desk := newRefundDesk(t)
	chat := newChatServer(t, approvalChat)
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Tasks: storeTasks{db}, Logger: quietLogger()})
	id := runApprovalAgent(t, cl, db, desk, chat)
	run := waitRun(t, cl.eng, id, "ended", ended)
	out := run.Nodes["support"].Output.(map[string]any)
	if toJSON(out["json"]) != `{"done":true}` {
		t.Errorf("answer = %s", toJSON(out))
	}
	calls := toJSON(out["tool_calls"])
	for _, want := range []string{
		`"approved_by":"bob","args":{"amount":400,"order":"A-7"},"edits":[{"arg":"amount","from":4000,"to":400}]`,
		`"args":{"amount":15,"order":"C-3"},"name":"refund","status":"completed","step":2`,
		`"error":"the call was rejected by bob, its reviewer: B-2 was refunded last week","name":"refund","rejected_by":"bob","status":"rejected"`,
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("tool_calls = %s\nlacks %s", calls, want)
		}
	}
	reqs := chat.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model turns, want 3", len(reqs))
	}
	second := toolMessages(reqs[1].body)["call_refund_a"]
	if !strings.Contains(second, `changed the arguments; the call was made with {"amount":400,"order":"A-7"}`) || !strings.Contains(second, `"refunded":true`) {
		t.Errorf("edited call's result = %q", second)
	}
	third := toolMessages(reqs[2].body)
	if !strings.Contains(third["call_refund_a"], "rejected by bob, its reviewer: B-2 was refunded last week") {
		t.Errorf("rejected call's result = %q", third["call_refund_a"])
	}
	task, err := db.GetTaskByNode(context.Background(), id, "support/1/0")
	if err != nil || task.State != store.TaskDone || task.Decision.DecidedBy != "bob" || toJSON(task.Decision.Data) != `{"amount":400,"order":"A-7"}` {
		t.Errorf("the edited call's task = %+v, %v", task, err)
	}
}

func approvalChat(n int, body map[string]any) chatReply {
	switch n {
	case 1:
		return chatToolCallsSaying("The customer asked for it.", "refund", `{"order":"A-7","amount":4000}`)
	case 2:
		return chatToolCalls("refund", `{"order":"B-2","amount":90}`, "refund", `{"order":"C-3","amount":15}`)
	default:
		return chatAnswer("gpt-test", `{"done": true}`, 30, 4)
	}
}

// agentApprovalHistory is runApprovalAgent's run recorded before its model turns became
// local activities (changeAgentLocalTurns), replayed by TestReplayHistories. It cannot be
// recorded again: today's code records agent_local_turns (TestRecordAgentLocalTurnsHistory).
const agentApprovalHistory = "agent_approval"

func TestAgentApprovalHistoryIsRecorded(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(historyDir, agentApprovalHistory+".json"))
	if err != nil {
		t.Fatalf("%v; it holds a run from before changeAgentLocalTurns and cannot be recorded again", err)
	}
	for _, want := range []string{"WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "approval.decided", "agent.turn", "support/1/0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the recorded history lacks %s", want)
		}
	}
}

// anthropicMessage is a Messages API answer with the given content blocks.
func anthropicMessage(stop string, blocks ...any) string {
	b, _ := json.Marshal(map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
		"content": blocks, "stop_reason": stop, "usage": map[string]any{"input_tokens": 12, "output_tokens": 4}})
	return string(b)
}

// TestAgentToolApprovalAnthropic: the same approval over Anthropic's tool use: the model's
// text and tool_use make the task, and the reviewer's rejection reaches the model as an
// is_error tool_result for that tool_use.
func TestAgentToolApprovalAnthropic(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	var mu sync.Mutex
	var bodies []map[string]any
	claude := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		bodies = append(bodies, body)
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/messages" || r.Header.Get("X-Api-Key") != "claude-key-77" {
			http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"wrong path or key"}}`, http.StatusNotFound)
			return
		}
		if n == 1 {
			io.WriteString(w, anthropicMessage("tool_use", map[string]any{"type": "text", "text": "A full refund is due."},
				map[string]any{"type": "tool_use", "id": "toolu_9", "name": "refund", "input": map[string]any{"order": "A-7", "amount": 4000}}))
			return
		}
		io.WriteString(w, anthropicMessage("end_turn", map[string]any{"type": "text", "text": "I could not refund it."}))
	})
	desk := newRefundDesk(t)
	db := storetest.MustOpen(t)
	providers := memProviders{"default": {Name: "default", Kind: "anthropic", BaseURL: claude.URL, Model: "claude-test", APIKeySecret: "ANTHROPIC_KEY"}}
	cl := startCluster(t, t.TempDir(), Deps{Providers: providers, Secrets: memSecrets{"ANTHROPIC_KEY": "claude-key-77"},
		Tasks: storeTasks{db}, Logger: quietLogger()})
	g := strings.Replace(approvalAgentGraph(desk.url), `"json_schema": {"type": "object", "required": ["done"], "properties": {"done": {"type": "boolean"}}},`, "", 1)
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "support", Version: 1, Definition: mustGraph(t, g),
		Input: map[string]any{"message": "Refund order A-7."}})
	if err != nil {
		t.Fatal(err)
	}
	task := waitCallTask(t, db, id, "support/1/0")
	if !strings.Contains(task.Instructions, "A full refund is due.") || !strings.Contains(string(task.Form), `"default":4000`) {
		t.Errorf("task = %q, form %s", task.Instructions, task.Form)
	}
	if err := decideCall(t, cl, id, "support/1/0", Decision{Outcome: designer.ToolReject, Comment: "over the limit",
		By: "bob", Groups: []string{"finance"}}); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted || run.Nodes["support"].Output.(map[string]any)["text"] != "I could not refund it." {
		t.Fatalf("run = %s", toJSON(run))
	}
	if got := desk.refunds(); len(got) != 0 {
		t.Errorf("a rejected refund was made: %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d turns", len(bodies))
	}
	msgs := toJSON(bodies[1]["messages"])
	if !strings.Contains(msgs, `{"content":"the call was rejected by bob, its reviewer: over the limit","is_error":true,"tool_use_id":"toolu_9","type":"tool_result"}`) {
		t.Errorf("second turn's messages = %s", msgs)
	}
}

// TestAgentToolApprovalSurvivesRestart: a tool call waiting for approval survives the server
// and worker stopping; after the restart the task is still open, the decision is taken, the
// tool runs once with the edited arguments and the first turn is not asked again.
func TestAgentToolApprovalSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	desk := newRefundDesk(t)
	var firstTurns sync.Map
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		if len(toolMessages(body)) == 0 {
			firstTurns.Store(n, true)
			return chatToolCallsSaying("Refunding.", "refund", `{"order":"A-7","amount":4000}`)
		}
		return chatAnswer("gpt-test", `{"done": true}`, 10, 2)
	})
	dir := t.TempDir()
	db := storetest.MustOpen(t)
	deps := Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey}, Tasks: storeTasks{db}, Logger: quietLogger()}
	cl := startCluster(t, dir, deps)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "support", Version: 1, Definition: mustGraph(t, approvalAgentGraph(desk.url)),
		Input: map[string]any{"message": "Refund order A-7."}})
	if err != nil {
		t.Fatal(err)
	}
	waitCallTask(t, db, id, "support/1/0")
	waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	cl.stop()

	cl = startCluster(t, dir, deps)
	if err := decideCall(t, cl, id, "support/1/0", Decision{Outcome: designer.ToolApprove, Data: map[string]any{"amount": 40},
		By: "ann", Groups: []string{"finance"}}); err != nil {
		t.Fatalf("decide after restart: %v", err)
	}
	if run := waitRun(t, cl.eng, id, "ended", ended); run.Status != RunCompleted {
		t.Fatalf("run = %s", toJSON(run))
	}
	if got := desk.refunds(); len(got) != 1 || got[0] != `{"amount":40,"order":"A-7"}` {
		t.Errorf("refunds = %q, want one of the edited 40", got)
	}
	n := 0
	firstTurns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("the first turn was asked %d times, want once", n)
	}
}

// TestAgentToolApprovalDue: a call nobody approves before it is due is rejected by on_due;
// the model is told so, the tool never runs, and the task is closed as decided by the system.
func TestAgentToolApprovalDue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	desk := newRefundDesk(t)
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		if len(toolMessages(body)) == 0 {
			return chatToolCalls("refund", `{"order":"A-7","amount":4000}`)
		}
		return chatAnswer("gpt-test", `{"done": false}`, 10, 2)
	})
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Tasks: storeTasks{db}, Logger: quietLogger()})
	g := strings.Replace(approvalAgentGraph(desk.url), `"approval": {"assignee": "group:finance"}`,
		`"approval": {"assignee": "group:finance", "due": "1s", "on_due": {"outcome": "reject"}}`, 1)
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "support", Version: 1, Definition: mustGraph(t, g),
		Input: map[string]any{"message": "Refund order A-7."}})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("run = %s", toJSON(run))
	}
	if got := desk.refunds(); len(got) != 0 {
		t.Errorf("refunds = %q, want none", got)
	}
	reqs := chat.requests()
	if got := toolMessages(reqs[len(reqs)-1].body)["call_refund_a"]; !strings.Contains(got, "nobody approved it before it was due") {
		t.Errorf("result sent back = %q", got)
	}
	task, err := db.GetTaskByNode(context.Background(), id, "support/1/0")
	if err != nil || task.State != store.TaskDone || task.Decision == nil || task.Decision.DecidedBy != SystemActor || task.Decision.Outcome != "reject" {
		t.Errorf("task = %+v, %v", task, err)
	}
}
