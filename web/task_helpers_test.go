package web

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"trellis/engine"
	"trellis/store"
)

// refundForm is the form of the test tasks: one control of each kind.
const refundForm = `{"type": "object", "required": ["amount"], "properties": {
	"amount": {"type": "number", "title": "Approved amount", "description": "In euros.", "minimum": 0},
	"category": {"type": "string", "enum": ["refund", "goodwill"], "default": "refund"},
	"urgent": {"type": "boolean", "title": "Urgent"},
	"items": {"type": "integer", "minimum": 1},
	"reason": {"type": "string", "title": "Reason"}
}}`

// stubDecider stands in for the engine in handler tests: it records decisions and closes the
// task in the store as the workflow would, or refuses with a set error.
type stubDecider struct {
	engineWithoutRuns
	db     *store.DB
	now    func() time.Time
	mu     sync.Mutex
	calls  []engine.Decision
	refuse error
}

func (f *stubDecider) Decide(ctx context.Context, runID, nodeID string, d engine.Decision) error {
	f.mu.Lock()
	f.calls = append(f.calls, d)
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	data, err := json.Marshal(d.Data)
	if err != nil {
		return err
	}
	return f.db.CloseTask(ctx, runID, nodeID, store.TaskDecision{Outcome: d.Outcome, Data: data, Comment: d.Comment,
		DecidedBy: d.By, DecidedAt: f.now()})
}

func (f *stubDecider) decisions() []engine.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Decision(nil), f.calls...)
}

// newTaskApp is a test server with the store as task store, and the stub decider unless
// withoutDecider.
func newTaskApp(t testing.TB, withoutDecider bool) (*testApp, *stubDecider) {
	t.Helper()
	var dec *stubDecider
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks = db
		s.Deps.Graphs = db
		if !withoutDecider {
			dec = &stubDecider{db: db, now: s.Config.Now}
			s.Deps.Runs = dec
		}
	}))
	return app, dec
}

// member creates a reviewer in groups.
func (a *testApp) member(name string, groups ...string) {
	a.tb.Helper()
	if _, _, err := a.DB.UpsertUser(context.Background(), store.UserInput{Name: name, Password: testPassword,
		Roles: []string{store.RoleReviewer}, Groups: groups}); err != nil {
		a.tb.Fatal(err)
	}
}

// memberAPI creates a reviewer in groups and returns an API client for them.
func (a *testApp) memberAPI(name string, groups ...string) *apiClient {
	a.tb.Helper()
	a.member(name, groups...)
	return &apiClient{tb: a.tb, c: a.client(), token: a.token(name)}
}

// memberBrowser creates a reviewer in groups and returns a signed-in client.
func (a *testApp) memberClient(name string, groups ...string) *testClient {
	a.tb.Helper()
	a.member(name, groups...)
	c := a.client()
	c.login(name, testPassword)
	return c
}

// addTask creates a task of run runID for assignee, due in due (0 for none).
func (a *testApp) addTask(runID, assignee string, due time.Duration) *store.Task {
	a.tb.Helper()
	in := store.NewTask{RunID: runID, NodeID: "review", GraphID: "refund", Version: 2, Title: "Refund for " + runID,
		Instructions: "Check the **amount** against the [policy](https://example.com/policy).",
		Assignee:     assignee, Outcomes: []string{"approve", "reject"}, Form: json.RawMessage(refundForm),
		Context: json.RawMessage(`{"input": {"customer": "Ada", "amount": 120}, "nodes": {"classify": {"label": "refund"}}}`)}
	if due != 0 {
		at := a.Clock.Now().Add(due)
		in.DueAt = &at
	}
	task, _, err := a.DB.CreateTask(context.Background(), in)
	if err != nil {
		a.tb.Fatal(err)
	}
	a.Clock.Advance(time.Second)
	return task
}

// problemFields reads the fields of a 422's problems.
func problemFields(tb testing.TB, r *testResponse) []string {
	tb.Helper()
	var env struct {
		Error struct {
			Problems []TaskProblem `json:"problems"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &env); err != nil {
		tb.Fatalf("problems: %v\n%s", err, r.Body)
	}
	var out []string
	for _, p := range env.Error.Problems {
		out = append(out, p.Field)
	}
	return out
}
