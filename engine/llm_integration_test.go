package engine

import (
	"context"
	"os"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"trellis/store/storetest"
)

// TestRefundGraphOnEmbeddedServer runs the refund example on the real embedded server with
// a local OpenAI-protocol server: a small, low-risk amount completes without a person.
func TestRefundGraphOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	raw, err := os.ReadFile("../cmd/trellis/samples/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	g := mustGraph(t, string(raw))
	chat := newChatServer(t, func(_ int, body map[string]any) chatReply {
		if _, structured := body["response_format"]; structured {
			return chatAnswer("gpt-4o-mini-2024-07-18", `{"reason": "parcel arrived damaged", "fraud_risk": "low"}`, 120, 18)
		}
		return chatAnswer("gpt-4o-mini-2024-07-18", "Dear ann@example.com, your refund is approved.", 60, 12)
	})
	providers := defaultProviders(chat.URL)
	providers["default"].Prices["gpt-4o-mini"] = ModelPrice{PromptPerMTok: 0.15, CompletionPerMTok: 0.6}
	cl := startCluster(t, t.TempDir(), Deps{Providers: providers, Secrets: memSecrets{"OPENAI_KEY": llmTestKey}})
	ctx := context.Background()

	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: g, StartedBy: "ann",
		Input: map[string]any{"customer": "ann@example.com", "amount": 120, "message": "The parcel arrived broken."}})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, cl.eng, id, "completed", ended)
	if r.Status != RunCompleted {
		t.Fatalf("run %s: %s", r.Status, toJSON(r))
	}
	if got := toJSON(r.Output); got != `{"decision":"approve","reply":"Dear ann@example.com, your refund is approved."}` {
		t.Errorf("output = %s", got)
	}
	for node, want := range map[string]string{"classify": NodeCompleted, "review": NodeSkipped, "auto": NodeCompleted, "reply": NodeCompleted} {
		if got := r.Nodes[node].Status; got != want {
			t.Errorf("node %s is %s, want %s", node, got, want)
		}
	}
	classify, _ := r.Nodes["classify"].Output.(map[string]any)
	if toJSON(classify["usage"]) != `{"completion_tokens":18,"prompt_tokens":120}` || toJSON(classify["cost"]) != "0.0000288" {
		t.Errorf("classify output = %s", toJSON(classify))
	}
	reqs := chat.requests()
	if len(reqs) != 2 || !strings.Contains(messageText(reqs[0].body, 1), "Customer ann@example.com asks for 120 EUR") {
		t.Errorf("chat requests = %s", toJSON(reqs))
	}

	// The key is nowhere in the run's history.
	it := cl.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	sawInput := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), llmTestKey) {
			t.Fatalf("history event %d (%s) holds the API key", ev.GetEventId(), ev.GetEventType())
		}
		sawInput = sawInput || strings.Contains(string(b), "The parcel arrived broken.")
	}
	if !sawInput {
		t.Error("the history scan never saw the run's input, so it proves nothing about the key")
	}
}

// TestRefundLargeAmountWaitsForReviewer: a large amount goes to the approval node, whose
// task shows what the llm node found; the run waits for a reviewer and then drafts the reply.
func TestRefundLargeAmountWaitsForReviewer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	raw, err := os.ReadFile("../cmd/trellis/samples/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	chat := newChatServer(t, func(_ int, body map[string]any) chatReply {
		if _, structured := body["response_format"]; structured {
			return chatAnswer("gpt-4o-mini", `{"reason": "large order", "fraud_risk": "low"}`, 100, 10)
		}
		return chatAnswer("gpt-4o-mini", "Your refund is approved.", 50, 8)
	})
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Tasks: storeTasks{db}})
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: mustGraph(t, string(raw)),
		StartedBy: "ann", Input: map[string]any{"customer": "bo@example.com", "amount": 5000, "message": "Cancel my order."}})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, cl.eng, id, "waiting for the reviewer", func(r *Run) bool { return r.Status == RunWaiting || ended(r) })
	if r.Status != RunWaiting || r.Nodes["classify"].Status != NodeCompleted || r.Nodes["review"].Status != NodeWaiting ||
		r.Nodes["auto"].Status != NodeSkipped || r.Nodes["reply"].Status != NodePending {
		t.Fatalf("run = %s", toJSON(r))
	}
	task := waitTask(t, db, id, "is open", isOpen)
	if task.Title != "Refund of 5000 EUR for bo@example.com" || !strings.Contains(task.Instructions, "**large order**") {
		t.Errorf("task %q: %q", task.Title, task.Instructions)
	}
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"refund_amount": 5000},
		By: "rita", Groups: []string{"reviewers"}}); err != nil {
		t.Fatalf("decide: %v", err)
	}
	r = waitRun(t, cl.eng, id, "completed", ended)
	if r.Status != RunCompleted || toJSON(r.Output) != `{"decision":"approve","reply":"Your refund is approved."}` {
		t.Errorf("run = %s", toJSON(r))
	}
}
