package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// engineWithoutRuns is an Engine that has had no runs: every run it is asked about is not
// found and it takes no decisions. Test engines embed it and add what they record.
type engineWithoutRuns struct{}

var _ Engine = engineWithoutRuns{}

func (engineWithoutRuns) ListRunRows(context.Context, engine.RunFilter) ([]engine.RunRow, []byte, error) {
	return nil, nil, nil
}

func (engineWithoutRuns) GetRun(_ context.Context, id string) (*engine.Run, error) {
	return nil, fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
}

func (engineWithoutRuns) Timeline(_ context.Context, id string) (*engine.Timeline, error) {
	return nil, fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
}

func (engineWithoutRuns) RunHistory(_ context.Context, id string) ([]byte, error) {
	return nil, fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
}

func (engineWithoutRuns) CancelRun(_ context.Context, id, _ string) error {
	return fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
}

func (engineWithoutRuns) StartRun(context.Context, engine.StartRunRequest) (string, error) {
	return "", errors.New("this test engine starts no runs")
}

func (engineWithoutRuns) Decide(_ context.Context, runID, _ string, _ engine.Decision) error {
	return &engine.DecisionError{Reason: engine.DecisionNoRun, Message: "Run " + runID + " was not found"}
}

func (engineWithoutRuns) CountRuns(context.Context, string) (int, error) { return 0, nil }

// recordingStarter stands in for the workflow engine when a test gets as far as starting a
// run. The engine (Temporal) is a third-party boundary for this package, tested in engine/;
// here it only records what web hands it, so the tests can check that.
type recordingStarter struct {
	engineWithoutRuns
	mu   sync.Mutex
	reqs []engine.StartRunRequest
}

func (r *recordingStarter) StartRun(_ context.Context, req engine.StartRunRequest) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return "run-test-" + string(rune('0'+len(r.reqs))), nil
}

func (r *recordingStarter) requests() []engine.StartRunRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.StartRunRequest(nil), r.reqs...)
}

// countingStarter also counts runs, as an engine that can list them would.
type countingStarter struct {
	recordingStarter
	runs map[string]int
}

func (c *countingStarter) CountRuns(_ context.Context, graphID string) (int, error) {
	return c.runs[graphID], nil
}

// newGraphApp is a test app with the real store as the graph store and eng as the engine
// (nil for none).
func newGraphApp(t testing.TB, eng Engine) *testApp {
	t.Helper()
	return newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Graphs = s.Deps.Users.(*store.DB)
		s.Deps.Runs = eng
	}))
}

// apiClient calls the JSON API with a bearer token.
type apiClient struct {
	tb    testing.TB
	c     *testClient
	token string
}

func (a *testApp) api(name string, roles ...string) *apiClient {
	a.tb.Helper()
	a.user(name, roles...)
	return &apiClient{tb: a.tb, c: a.client(), token: a.token(name)}
}

// send sends body (marshalled unless it is []byte or string) to /api/v1 + path.
func (a *apiClient) send(method, path string, body any, headers ...string) *testResponse {
	a.tb.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			a.tb.Fatal(err)
		}
	}
	req := a.c.request(method, "/api/v1"+path, bytes.NewReader(b), headers...)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.c.do(req)
}

func (a *apiClient) get(path string) *testResponse { return a.send(http.MethodGet, path, nil) }

// createGraph creates a graph from a document and returns its id.
func (a *apiClient) createGraph(name, doc string) string {
	a.tb.Helper()
	body := map[string]any{"name": name}
	if doc != "" {
		body["definition"] = json.RawMessage(doc)
	}
	r := a.send(http.MethodPost, "/graphs", body)
	wantStatus(a.tb, r, http.StatusCreated)
	return r.JSON(a.tb)["id"].(string)
}

// saveDraft replaces the draft unconditionally and returns the answer.
func (a *apiClient) saveDraft(id, doc string) *testResponse {
	a.tb.Helper()
	r := a.send(http.MethodPut, "/graphs/"+id+"/draft", doc)
	wantStatus(a.tb, r, http.StatusOK)
	return r
}

// publish publishes the draft and returns the version number.
func (a *apiClient) publish(id, note string) int {
	a.tb.Helper()
	r := a.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": note})
	wantStatus(a.tb, r, http.StatusCreated)
	return int(r.JSON(a.tb)["version"].(float64))
}

// problemsOf returns the problems of a response: top-level or in the error envelope.
func problemsOf(tb testing.TB, r *testResponse) []map[string]any {
	tb.Helper()
	var body struct {
		Problems []map[string]any `json:"problems"`
		Error    *struct {
			Problems []map[string]any `json:"problems"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, r.Body)
	}
	if body.Error != nil {
		return body.Error.Problems
	}
	return body.Problems
}

// greetDoc is a small valid graph: greet → shout, with an input schema.
const greetDoc = `{
  "format": "trellis.graph/v1",
  "name": "Greeting",
  "description": "Greets someone, loudly.",
  "input": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "title": "Your name", "description": "As it should be greeted."},
                           "times": {"type": "integer", "title": "Times", "default": 2},
                           "tone": {"type": "string", "enum": ["warm", "formal"], "default": "warm"},
                           "loud": {"type": "boolean", "title": "Loud"},
                           "tags": {"type": "array", "items": {"type": "string"}}}},
  "nodes": [
    {"id": "greet", "kind": "transform", "label": "Greet", "position": {"x": 40, "y": 40},
     "config": {"value": "'Hello ' + input.name"}},
    {"id": "shout", "kind": "transform", "label": "Shout", "position": {"x": 340, "y": 40},
     "config": {"value": "upper(nodes.greet.output)"}}
  ],
  "edges": [{"from": "greet", "to": "shout"}]
}`

// greetDocV2 is greetDoc with shout's value changed and a wait node added after it. The wait
// is long, so that a test finds its run still pausing however slow the machine; tests that
// start it cancel it.
const greetDocV2 = `{
  "format": "trellis.graph/v1",
  "name": "Greeting",
  "description": "Greets someone, loudly.",
  "input": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "title": "Your name"}}},
  "nodes": [
    {"id": "greet", "kind": "transform", "label": "Greet", "position": {"x": 40, "y": 40},
     "config": {"value": "'Hello ' + input.name"}},
    {"id": "shout", "kind": "transform", "label": "Shout", "position": {"x": 340, "y": 40},
     "config": {"value": "upper(nodes.greet.output) + '!'"}},
    {"id": "pause", "kind": "wait", "label": "Pause", "position": {"x": 640, "y": 40},
     "config": {"duration": "1h"}}
  ],
  "edges": [{"from": "greet", "to": "shout"}, {"from": "shout", "to": "pause"}]
}`

// badDoc has two problems: an unknown kind and an edge to a missing node.
const badDoc = `{"format": "trellis.graph/v1", "name": "Broken",
  "nodes": [{"id": "a", "kind": "teleport"}],
  "edges": [{"from": "a", "to": "nowhere"}]}`
