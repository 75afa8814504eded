package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"trellis/designer"
	"trellis/store"
)

// TestTaskPageSpeaksPlainly: a task whose form has no titles and a notes field, and an
// outcome written as an identifier, shows words: "Risk", "Notes", "Send back", the graph's
// name, and no second Comment box beside the notes.
func TestTaskPageSpeaksPlainly(t *testing.T) {
	app, dec := newTaskApp(t, false)
	c := app.memberClient("lee", "legal")
	if _, err := app.DB.CreateGraph(t.Context(), "Contract sign-off", nil, "ana"); err != nil {
		t.Fatal(err)
	}
	task, _, err := app.DB.CreateTask(t.Context(), store.NewTask{RunID: "run-c", NodeID: "signoff", GraphID: "contract-sign-off",
		Version: 1, Title: "Sign off contract C-1", Assignee: "group:legal", Outcomes: []string{"sign", "send_back"},
		Form: json.RawMessage(`{"type": "object", "required": ["risk"], "properties": {
			"risk": {"type": "string", "enum": ["low", "medium", "high"]},
			"fraud_score": {"type": "number"},
			"notes": {"type": "string"}}}`),
		Context: json.RawMessage(`{"input": {"contract_id": "C-1"}, "nodes": {}}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := c.get("/tasks/" + task.ID)
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "task page", r.Body,
		`<label for="task-field-risk">Risk`, `<label for="task-field-fraud_score">Fraud score`, `<label for="task-field-notes">Notes`,
		`value="send_back" class="btn btn-secondary" data-testid="task-outcome-send_back">Send back</button>`,
		`data-testid="task-outcome-sign">Sign</button>`,
		`<span title="contract-sign-off">Contract sign-off</span>`)
	taskLacks(t, "task page", r.Body, `name="comment"`, ">send_back<", ">risk<")

	// The decision shows the same words.
	r = c.postForm("/tasks/"+task.ID+"/decision", url.Values{"outcome": {"send_back"}, "data.risk": {`"high"`}, "data.notes": {"Clause 4 is missing"}})
	wantStatus(t, r, http.StatusSeeOther)
	if got := dec.decisions(); len(got) != 1 || got[0].Data["notes"] != "Clause 4 is missing" || got[0].Comment != "" {
		t.Fatalf("engine got %+v", got)
	}
	r = c.get("/tasks/" + task.ID)
	taskWants(t, "decided task", r.Body, `data-outcome="send_back">Send back<`, "<dt>Risk</dt><dd>high</dd>",
		"<dt>Notes</dt><dd>Clause 4 is missing</dd>", "Decided by lee: Send back.")
}

func TestTaskFormHasComment(t *testing.T) {
	tests := []struct {
		name, schema string
		want         bool
	}{
		{"notes", `{"type": "object", "properties": {"notes": {"type": "string"}}}`, true},
		{"Comment in capitals", `{"type": "object", "properties": {"Comment": {"type": "string"}}}`, true},
		{"remarks", `{"type": "object", "properties": {"remarks": {"type": "string"}}}`, true},
		{"reason is not a comment", `{"type": "object", "properties": {"reason": {"type": "string"}}}`, false},
		{"notes as a choice", `{"type": "object", "properties": {"notes": {"type": "string", "enum": ["a", "b"]}}}`, false},
		{"notes as a list", `{"type": "object", "properties": {"notes": {"type": "array"}}}`, false},
		{"no form", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch, err := designer.CompileSchema(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if got := taskFormHasComment(sch); got != tt.want {
				t.Errorf("taskFormHasComment = %v, want %v", got, tt.want)
			}
		})
	}
}
