package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"trellis/store"
	"trellis/store/storetest"
)

// rewindGraph: an llm drafts, a reviewer approves, an http call sends what they approved.
const rewindGraph = `{"nodes": [
	{"id": "draft", "kind": "llm", "config": {"prompt": "Draft a reply to {{ input.name }}."}},
	{"id": "review", "kind": "approval", "config": {"title": "$TITLE", "assignee": "group:ops"}},
	{"id": "send", "kind": "http", "config": {"method": "POST", "url": "$URL/send",
	  "body": {"text": "{{ nodes.draft.output.text }}", "by": "{{ nodes.review.output.decided_by }}"}}}],
  "edges": [{"from": "draft", "to": "review"}, {"from": "review", "to": "send", "port": "approve"}]}`

// TestRewind: a completed run rewound from its last node on the same version runs only that
// node: the provider is not called and no reviewer is asked again; corrections reach the
// node that runs; on a version where the approval changed, it is asked again.
func TestRewind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	chat := newChatServer(t, func(n int, _ map[string]any) chatReply {
		return chatAnswer("gpt-test", fmt.Sprintf("draft %d", n), 10, 5)
	})
	rec := newRecorder(t, 200, `{"sent": true}`)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, Providers: defaultProviders(chat.URL),
		Secrets: memSecrets{"OPENAI_KEY": llmTestKey}})
	graph := func(title string) string {
		return strings.NewReplacer("$URL", rec.URL, "$TITLE", title).Replace(rewindGraph)
	}
	g1 := mustGraph(t, graph("Check the draft"))
	old, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "reply", Version: 1, Definition: g1, Input: map[string]any{"name": "Ann"}, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, old, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	if err := cl.eng.Decide(ctx, old, "review", Decision{Outcome: "approve", By: "rita", Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, cl.eng, old, "ended", ended); r.Status != RunCompleted {
		t.Fatalf("first run = %s", toJSON(r))
	}
	if len(chat.requests()) != 1 || len(rec.requests()) != 1 {
		t.Fatalf("first run: %d llm calls, %d http calls", len(chat.requests()), len(rec.requests()))
	}

	p, err := cl.eng.PreviewRewind(ctx, old, "send", nil, 0)
	if err != nil || p.Version != 1 || !slices.Equal(p.Reused, []string{"draft", "review"}) || !slices.Equal(p.Rerun, []string{"send"}) {
		t.Fatalf("preview = %s, %v", toJSON(p), err)
	}
	var re *RecoveryError
	_, err = cl.eng.PreviewRewind(ctx, old, "nope", nil, 0)
	if !errors.As(err, &re) || re.Reason != RecoveryInvalid || !strings.Contains(re.Message, "node nope is not in version 1") {
		t.Fatalf("preview from a missing node: %v", err)
	}
	_, _, err = cl.eng.Rewind(ctx, RewindRequest{RunID: old, From: "send", Outputs: map[string]any{"send": 1}, By: "ann"})
	if !errors.As(err, &re) || re.Reason != RecoveryInvalid || !strings.Contains(re.Message, "node send is not carried over") {
		t.Fatalf("correcting a node that runs again: %v", err)
	}

	// Same version, from the last node, with the reviewer's output corrected.
	corrected := map[string]any{"outcome": "approve", "data": map[string]any{}, "comment": "", "decided_by": "boss", "decided_at": "2026-12-06T00:00:00Z"}
	id, p, err := cl.eng.Rewind(ctx, RewindRequest{RunID: old, From: "send", Outputs: map[string]any{"review": corrected}, By: "ann"})
	if err != nil || !slices.Equal(p.Rerun, []string{"send"}) {
		t.Fatalf("rewind: %s, %v", toJSON(p), err)
	}
	r := waitRun(t, cl.eng, id, "ended", ended)
	if r.Status != RunCompleted || r.RewoundFrom == nil || r.RewoundFrom.RunID != old || r.RewoundFrom.Node != "send" ||
		r.Nodes["draft"].ReusedFrom != old || r.Nodes["review"].ReusedFrom != old || r.Nodes["send"].ReusedFrom != "" {
		t.Fatalf("rewound run = %s", toJSON(r))
	}
	if c := r.Nodes["review"].Corrected; c == nil || c.By != "ann" || !strings.Contains(toJSON(c.Recorded), `"decided_by":"rita"`) {
		t.Errorf("review's correction = %s", toJSON(c))
	}
	if n := len(chat.requests()); n != 1 {
		t.Errorf("the provider was called %d times, want once (the first run)", n)
	}
	if _, err := db.GetTaskByNode(ctx, id, "review"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the rewound run asked a reviewer: %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || !strings.Contains(reqs[1].body, `"by":"boss"`) || !strings.Contains(reqs[1].body, `"text":"draft 1"`) {
		t.Errorf("http calls = %+v", reqs)
	}
	linked := false
	for range 300 {
		if o, err := cl.eng.GetRun(ctx, old); err == nil && slices.Contains(o.RewoundAs, id) {
			linked = true
			break
		}
		sleepPoll()
	}
	if !linked {
		t.Error("the old run does not list the rewound run")
	}

	// A version whose approval changed: the preview says why it runs again, and it does.
	g2 := mustGraph(t, graph("Check the draft again"))
	p, err = cl.eng.PreviewRewind(ctx, old, "send", &g2, 2)
	if err != nil || !slices.Equal(p.Reused, []string{"draft"}) || !strings.Contains(p.Why["review"], "config changed in version 2") {
		t.Fatalf("preview on version 2 = %s, %v", toJSON(p), err)
	}
	id2, _, err := cl.eng.Rewind(ctx, RewindRequest{RunID: old, From: "send", Target: &g2, Version: 2, By: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id2, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	if err := cl.eng.Decide(ctx, id2, "review", Decision{Outcome: "approve", By: "rita", Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, cl.eng, id2, "ended", ended); r.Status != RunCompleted || r.Version != 2 || r.Nodes["draft"].ReusedFrom != old {
		t.Fatalf("rewound run on version 2 = %s", toJSON(r))
	}
	if n := len(chat.requests()); n != 1 {
		t.Errorf("the provider was called %d times, want once", n)
	}

	// From the first node with a corrected input: everything runs again.
	id3, p, err := cl.eng.Rewind(ctx, RewindRequest{RunID: old, From: "draft", HasInput: true, Input: map[string]any{"name": "Bob"}, By: "ann"})
	if err != nil || len(p.Reused) != 0 {
		t.Fatalf("rewind from draft: %s, %v", toJSON(p), err)
	}
	r3 := waitRun(t, cl.eng, id3, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	if c := r3.InputCorrected; c == nil || c.By != "ann" || toJSON(c.Recorded) != `{"name":"Ann"}` || toJSON(r3.Input) != `{"name":"Bob"}` {
		t.Errorf("input correction = %s, input %s", toJSON(c), toJSON(r3.Input))
	}
	reqsLLM := chat.requests()
	if len(reqsLLM) != 2 || !strings.Contains(messageText(reqsLLM[1].body, 0), "Bob") {
		t.Errorf("llm calls after the input correction = %d, last %v", len(reqsLLM), reqsLLM[len(reqsLLM)-1].body)
	}
	if err := cl.eng.CancelRun(ctx, id3, "enough"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id3, "ended", ended)
	if _, _, err := cl.eng.Rewind(ctx, RewindRequest{RunID: id, From: "send", By: "ann"}); err != nil {
		t.Errorf("rewinding a rewound run: %v", err)
	}
}
