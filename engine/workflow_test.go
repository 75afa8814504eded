package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// caseServers are the test HTTP servers a case's graph can name: $FLAKY fails `fails`
// times with 500 before answering 200; $REC answers recStatus with recBody.
type caseServers struct {
	flaky *flakyServer
	rec   *recorder
}

type wfCase struct {
	name      string
	graph     string
	input     any
	fails     int
	recStatus int
	recBody   string
	versions  memVersions
	before    func(env *testsuite.TestWorkflowEnvironment)

	wantStatus string // completed (default), failed, cancelled
	wantOut    string // JSON; empty: not checked
	wantErr    string // substring of the run error
	wantNodes  map[string]string
	check      func(t *testing.T, r envResult, s *caseServers)
}

var childDouble = `{"nodes": [{"id": "double", "kind": "transform", "config": {"value": "input.x * 2"}}],
  "edges": [], "output": "{ double: nodes.double.output }"}`

var childSlow = `{"nodes": [{"id": "w", "kind": "wait", "config": {"duration": "1h"}}], "edges": []}`

var childFails = `{"nodes": [{"id": "bad", "kind": "transform", "config": {"value": "int('nope')"}}], "edges": []}`

var interpreterCases = []wfCase{
	{
		name: "independent roots run in parallel and join all waits for both",
		graph: `{"nodes": [
			{"id": "a", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "b", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "c", "kind": "transform", "config": {"value": "'joined'"}}],
		  "edges": [{"from": "a", "to": "c"}, {"from": "b", "to": "c"}]}`,
		wantOut:   `{"c": "joined"}`,
		wantNodes: map[string]string{"a": NodeCompleted, "b": NodeCompleted, "c": NodeCompleted},
		check: func(t *testing.T, r envResult, _ *caseServers) {
			a, c := r.state.Nodes["a"], r.state.Nodes["c"]
			if got := c.StartedAt.Sub(*a.StartedAt); got >= 2*time.Hour || got < time.Hour {
				t.Errorf("c started %v after a; two parallel 1h waits should take 1h", got)
			}
		},
	},
	{
		name: "join any runs when one branch is active and when picks the branch",
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "input.n"}},
			{"id": "big", "kind": "transform", "config": {"value": "'big'"}},
			{"id": "small", "kind": "transform", "config": {"value": "'small'"}},
			{"id": "r", "kind": "transform", "join": "any", "config": {"value": "nodes.big.output ?? nodes.small.output"}}],
		  "edges": [{"from": "a", "to": "big", "when": "nodes.a.output > 10"},
			{"from": "a", "to": "small", "when": "nodes.a.output <= 10"},
			{"from": "big", "to": "r"}, {"from": "small", "to": "r"}]}`,
		input:     map[string]any{"n": 3},
		wantOut:   `{"r": "small"}`,
		wantNodes: map[string]string{"a": NodeCompleted, "big": NodeSkipped, "small": NodeCompleted, "r": NodeCompleted},
	},
	{
		name: "join all is skipped when an incoming edge is inactive",
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "2"}},
			{"id": "r", "kind": "transform", "config": {"value": "3"}}],
		  "edges": [{"from": "a", "to": "b", "when": "false"}, {"from": "a", "to": "r"}, {"from": "b", "to": "r"}]}`,
		wantOut:   `{}`,
		wantNodes: map[string]string{"a": NodeCompleted, "b": NodeSkipped, "r": NodeSkipped},
	},
	{
		name: "skips propagate down a chain and sinks that ran make the output",
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "2"}},
			{"id": "c", "kind": "transform", "config": {"value": "3"}},
			{"id": "d", "kind": "transform", "config": {"value": "4"}},
			{"id": "e", "kind": "transform", "config": {"value": "nodes.a.output + 4"}}],
		  "edges": [{"from": "a", "to": "b", "when": "nodes.a.output > 1"}, {"from": "b", "to": "c"},
			{"from": "c", "to": "d"}, {"from": "a", "to": "e"}]}`,
		wantOut:   `{"e": 5}`,
		wantNodes: map[string]string{"a": NodeCompleted, "b": NodeSkipped, "c": NodeSkipped, "d": NodeSkipped, "e": NodeCompleted},
	},
	{
		name: "on_error continue completes on the error port",
		graph: `{"nodes": [
			{"id": "call", "kind": "http", "on_error": "continue", "config": {"url": "$REC/x"}},
			{"id": "ok", "kind": "transform", "config": {"value": "'fine'"}},
			{"id": "handle", "kind": "transform", "config": {"value": "nodes.call.output.error.type"}}],
		  "edges": [{"from": "call", "to": "ok"}, {"from": "call", "to": "handle", "port": "error"}]}`,
		recStatus: 404,
		wantOut:   `{"handle": "HTTPStatus"}`,
		wantNodes: map[string]string{"call": NodeCompleted, "ok": NodeSkipped, "handle": NodeCompleted},
		check: func(t *testing.T, r envResult, s *caseServers) {
			call := r.state.Nodes["call"]
			if call.Port != "error" || call.Error == nil || !strings.Contains(call.Error.Message, "404") {
				t.Errorf("call = %+v, want completed on error port with the 404", call)
			}
			if n := len(s.rec.requests()); n != 1 || call.Attempts != 1 {
				t.Errorf("404 was tried %d times (attempts %d), want once", n, call.Attempts)
			}
		},
	},
	{
		name: "a when that errors fails the run naming edge, field and column",
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "2"}}],
		  "edges": [{"from": "a", "to": "b", "when": "nodes.a.output > 'x'"}]}`,
		wantStatus: RunFailed,
		wantErr:    "edge 0 (a → b) field when: column",
		wantNodes:  map[string]string{"a": NodeCompleted, "b": NodePending},
	},
	{
		name: "on_error fail fails the run and cancels work in flight",
		graph: `{"nodes": [
			{"id": "slow", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "bad", "kind": "transform", "config": {"value": "int('abc')"}},
			{"id": "after", "kind": "transform", "config": {"value": "1"}}],
		  "edges": [{"from": "bad", "to": "after"}]}`,
		wantStatus: RunFailed,
		wantErr:    `node "bad" failed: field value:`,
		wantNodes:  map[string]string{"slow": NodeCancelled, "bad": NodeFailed, "after": NodePending},
		check: func(t *testing.T, r envResult, _ *caseServers) {
			if e := r.state.Nodes["bad"].Error; e == nil || e.Type != ErrTypeExpr {
				t.Errorf("bad error = %+v, want type %s", e, ErrTypeExpr)
			}
		},
	},
	{
		name: "retries are counted and the run survives failures",
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$FLAKY/"},
			"retry": {"max_attempts": 5, "initial_interval": "1s"}}], "edges": [],
		  "output": "{ status: nodes.call.output.status, type: nodes.call.output.headers['content-type'], body: nodes.call.output.body }"}`,
		fails:     2,
		wantOut:   `{"status": 200, "type": "application/json", "body": {"ok": true, "n": 3}}`,
		wantNodes: map[string]string{"call": NodeCompleted},
		check: func(t *testing.T, r envResult, s *caseServers) {
			if a := r.state.Nodes["call"].Attempts; a != 3 {
				t.Errorf("attempts = %d, want 3", a)
			}
		},
	},
	{
		name: "retries stop at max_attempts",
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$FLAKY/"},
			"retry": {"max_attempts": 2, "initial_interval": "1s"}}], "edges": []}`,
		fails:      100,
		wantStatus: RunFailed,
		wantErr:    `node "call" failed: unexpected HTTP status 500`,
		wantNodes:  map[string]string{"call": NodeFailed},
		check: func(t *testing.T, r envResult, s *caseServers) {
			if a, hits := r.state.Nodes["call"].Attempts, s.flaky.hits.Load(); a != 2 || hits != 2 {
				t.Errorf("attempts = %d, hits = %d, want 2 and 2", a, hits)
			}
		},
	},
	{
		// The SDK test environment does not retry timeouts (the server does), so one attempt.
		name: "an attempt that passes the timeout fails the node",
		graph: `{"nodes": [{"id": "call", "kind": "http", "timeout": "200ms", "config": {"url": "$REC/slow"},
			"retry": {"max_attempts": 1}}], "edges": []}`,
		recStatus:  -1,
		wantStatus: RunFailed,
		wantErr:    `node "call" failed: timed out (per-attempt timeout)`,
		check: func(t *testing.T, r envResult, s *caseServers) {
			call := r.state.Nodes["call"]
			if call.Attempts != 1 || call.Error.Type != ErrTypeTimeout {
				t.Errorf("call = %+v, want 1 attempt and a timeout", call)
			}
		},
	},
	{
		name:       "a 4xx is not retried",
		graph:      `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$REC/missing"}}], "edges": []}`,
		recStatus:  400,
		wantStatus: RunFailed,
		wantErr:    "unexpected HTTP status 400",
		check: func(t *testing.T, r envResult, s *caseServers) {
			if n := len(s.rec.requests()); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
			var app *temporal.ApplicationError
			if !errors.As(r.err, &app) || app.Type() != ErrTypeHTTPStatus {
				t.Errorf("run error %v, want type %s", r.err, ErrTypeHTTPStatus)
			}
		},
	},
	{
		name: "http renders templates, secrets, typed body and the idempotency key",
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"method": "post",
			"url": "$REC/items/{{ input.n }}?q={{ input.who }}",
			"headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
			"body": {"n": "{{ input.n }}", "who": "name: {{ input.who }}", "list": ["{{ input.tags }}"]},
			"expect": ["2xx", 404]}}], "edges": [],
			"output": "nodes.call.output.body"}`,
		input:     map[string]any{"n": 3, "who": "ann", "tags": []any{"x", "y"}},
		recStatus: 201,
		recBody:   `{"id": 7}`,
		wantOut:   `{"id": 7}`,
		check: func(t *testing.T, r envResult, s *caseServers) {
			reqs := s.rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d", len(reqs))
			}
			q := reqs[0]
			if q.method != "POST" || q.path != "/items/3?q=ann" {
				t.Errorf("request %s %s", q.method, q.path)
			}
			if got := q.header.Get("Authorization"); got != "Bearer s3cret" {
				t.Errorf("Authorization = %q", got)
			}
			if got := q.header.Get("Idempotency-Key"); got != "run-test/call" {
				t.Errorf("Idempotency-Key = %q", got)
			}
			if got := q.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			var body any
			_ = json.Unmarshal([]byte(q.body), &body)
			want := map[string]any{"n": 3.0, "who": "name: ann", "list": []any{[]any{"x", "y"}}}
			if !reflect.DeepEqual(body, want) {
				t.Errorf("body = %s", q.body)
			}
			if strings.Contains(toJSON(r.state), "s3cret") {
				t.Error("the secret leaked into run state")
			}
		},
	},
	{
		name:    "output expression makes the result",
		graph:   `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "input.n * 10"}}], "edges": [], "output": "{ sum: nodes.a.output + input.n, run: run.id }"}`,
		input:   map[string]any{"n": 2},
		wantOut: `{"sum": 22, "run": "run-test"}`,
	},
	{
		name:       "an output expression that errors fails the run",
		graph:      `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}], "edges": [], "output": "int('x')"}`,
		wantStatus: RunFailed,
		wantErr:    "graph field output:",
	},
	{
		name: "transform values are templates that keep their types",
		graph: `{"nodes": [{"id": "t", "kind": "transform",
			"config": {"value": {"a": "{{ input.n }}", "b": "n={{ input.n }}", "c": [1, "{{ input.s }}", null, true]}}}], "edges": []}`,
		input:   map[string]any{"n": 3, "s": "x"},
		wantOut: `{"t": {"a": 3, "b": "n=3", "c": [1, "x", null, true]}}`,
	},
	{
		name: "wait for a duration, then until a computed time",
		graph: `{"nodes": [
			{"id": "pause", "kind": "wait", "config": {"duration": "90m"}},
			{"id": "later", "kind": "wait", "config": {"until": "date(run.started_at) + duration('3h')"}},
			{"id": "past", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z'"}}],
		  "edges": [{"from": "pause", "to": "later"}, {"from": "later", "to": "past"}]}`,
		wantNodes: map[string]string{"pause": NodeCompleted, "later": NodeCompleted, "past": NodeCompleted},
		check: func(t *testing.T, r envResult, _ *caseServers) {
			p, l := r.state.Nodes["pause"], r.state.Nodes["later"]
			if d := p.EndedAt.Sub(*p.StartedAt); d != 90*time.Minute {
				t.Errorf("pause took %v, want 90m", d)
			}
			if d := l.EndedAt.Sub(*p.StartedAt); d < 3*time.Hour-time.Second || d > 3*time.Hour+time.Second {
				t.Errorf("later ended %v after the start, want 3h", d)
			}
			if got := toJSON(r.state.Nodes["past"].Output); got != `{"waited_until":"2001-02-03T04:05:06Z"}` {
				t.Errorf("past output = %s", got)
			}
		},
	},
	{
		name:       "wait until a value that is not a time fails the node",
		graph:      `{"nodes": [{"id": "w", "kind": "wait", "config": {"until": "'tomorrow'"}}], "edges": []}`,
		wantStatus: RunFailed,
		wantErr:    `field until: "tomorrow" is not an RFC 3339 time`,
	},
	{
		name: "cancelling the run cancels nodes in flight",
		graph: `{"nodes": [{"id": "w", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "after", "kind": "transform", "config": {"value": "1"}}],
		  "edges": [{"from": "w", "to": "after"}]}`,
		before: func(env *testsuite.TestWorkflowEnvironment) {
			env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
		},
		wantStatus: RunCancelled,
		wantNodes:  map[string]string{"w": NodeCancelled, "after": NodePending},
	},
	{
		name: "subgraph runs the pinned child version",
		graph: `{"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "child", "version": 2, "input": "{ x: input.n }"}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.sub.output.double + 1"}}],
		  "edges": [{"from": "sub", "to": "after"}]}`,
		input:     map[string]any{"n": 21},
		versions:  memVersions{"child@2": {}},
		wantOut:   `{"after": 43}`,
		wantNodes: map[string]string{"sub": NodeCompleted, "after": NodeCompleted},
	},
	{
		name:     "cancelling the run cancels its subgraph run",
		graph:    `{"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "slow", "version": 1}}], "edges": []}`,
		versions: memVersions{"slow@1": {}},
		before: func(env *testsuite.TestWorkflowEnvironment) {
			env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
		},
		wantStatus: RunCancelled,
		wantNodes:  map[string]string{"sub": NodeCancelled},
	},
	{
		name: "a failing subgraph fails its node",
		graph: `{"nodes": [{"id": "sub", "kind": "subgraph", "on_error": "continue", "config": {"graph": "bad", "version": 1}}],
		  "edges": [], "output": "nodes.sub.output.error.message"}`,
		versions: memVersions{"bad@1": {}},
		check: func(t *testing.T, r envResult, _ *caseServers) {
			msg, _ := r.out.(string)
			if !strings.HasPrefix(msg, `subgraph run run-test.sub: node "bad" failed: field value:`) {
				t.Errorf("output = %q", msg)
			}
		},
	},
	{
		name:       "a missing subgraph version fails without retrying",
		graph:      `{"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "nothere", "version": 4}}], "edges": []}`,
		versions:   memVersions{},
		wantStatus: RunFailed,
		wantErr:    "graph nothere version 4 does not exist",
		check: func(t *testing.T, r envResult, _ *caseServers) {
			if a := r.state.Nodes["sub"].Attempts; a != 1 {
				t.Errorf("attempts = %d, want 1", a)
			}
		},
	},
	{
		name: "a worker without providers or a task store fails those nodes clearly",
		graph: `{"nodes": [{"id": "ask", "kind": "llm", "on_error": "continue", "config": {"prompt": "hi"}},
			{"id": "review", "kind": "approval", "config": {"title": "t", "assignee": "group:x"}}],
		  "edges": [{"from": "ask", "to": "review", "port": "error"}]}`,
		wantStatus: RunFailed,
		wantErr:    `node "review" failed: this worker has no task store, so approval nodes cannot run`,
		wantNodes:  map[string]string{"ask": NodeCompleted, "review": NodeFailed},
	},
}

func TestInterpreter(t *testing.T) {
	for _, tc := range interpreterCases {
		t.Run(tc.name, func(t *testing.T) {
			s := &caseServers{flaky: newFlakyServer(t, tc.fails)}
			status := tc.recStatus
			if status == 0 {
				status = 200
			}
			body := tc.recBody
			if body == "" {
				body = `{}`
			}
			s.rec = newRecorder(t, status, body)
			src := strings.NewReplacer("$FLAKY", s.flaky.URL, "$REC", s.rec.URL).Replace(tc.graph)
			versions := memVersions{}
			for key := range tc.versions {
				switch key {
				case "child@2":
					versions[key] = mustGraph(t, childDouble)
				case "bad@1":
					versions[key] = mustGraph(t, childFails)
				case "slow@1":
					versions[key] = mustGraph(t, childSlow)
				}
			}
			deps := Deps{Secrets: memSecrets{"TOKEN": "s3cret"}, Versions: versions}
			r := runInTestEnv(t, mustGraph(t, src), tc.input, deps, tc.before)

			wantStatus := tc.wantStatus
			if wantStatus == "" {
				wantStatus = RunCompleted
			}
			if r.state.Status != wantStatus {
				t.Fatalf("status = %s, want %s (error %v, nodes %s)", r.state.Status, wantStatus, r.err, toJSON(r.state.Nodes))
			}
			switch {
			case wantStatus == RunCancelled:
				if !temporal.IsCanceledError(r.err) {
					t.Errorf("error = %v, want cancelled", r.err)
				}
			case tc.wantErr != "":
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want it to contain %q", r.err, tc.wantErr)
				}
				if r.state.Error == nil || !strings.Contains(r.state.Error.Message, tc.wantErr) {
					t.Errorf("state error = %+v", r.state.Error)
				}
			case r.err != nil:
				t.Fatalf("unexpected error: %v", r.err)
			}
			if tc.wantOut != "" {
				var want any
				if err := json.Unmarshal([]byte(tc.wantOut), &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(normalize(r.out), want) {
					t.Errorf("output = %s, want %s", toJSON(r.out), tc.wantOut)
				}
			}
			if tc.wantNodes != nil {
				if got := statuses(r.state); !reflect.DeepEqual(got, tc.wantNodes) {
					t.Errorf("node statuses = %v, want %v", got, tc.wantNodes)
				}
			}
			if tc.check != nil {
				tc.check(t, r, s)
			}
		})
	}
}

// normalize round-trips through JSON so results compare with decoded expectations.
func normalize(v any) any {
	var out any
	_ = json.Unmarshal([]byte(toJSON(v)), &out)
	return out
}
