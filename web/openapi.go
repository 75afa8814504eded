package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiOp documents one operation of the JSON API for the OpenAPI document. Body and Answer
// name schemas of openapi_components.json ("" for none; "[]X" for a list of X).
type apiOp struct {
	Method, Path, Tag, Summary string
	Body                       string
	Status                     int
	Answer                     string
	Query                      []string
}

// apiOps is every /api/v1 route of the route table; TestOpenAPIMatchesRoutes fails when a
// route is missing here or an entry has no route.
var apiOps = []apiOp{
	{Method: "GET", Path: "/api/v1/healthz", Tag: "health", Summary: "200 when the store and Temporal answer, 503 otherwise", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/openapi.json", Tag: "health", Summary: "This document", Status: 200, Answer: "Any"},

	{Method: "GET", Path: "/api/v1/graphs", Tag: "graphs", Summary: "List graphs", Status: 200, Answer: "[]GraphSummary"},
	{Method: "POST", Path: "/api/v1/graphs", Tag: "graphs", Summary: "Create a graph; the id is derived from the name unless given", Body: "GraphCreate", Status: 201, Answer: "GraphSummary"},
	{Method: "POST", Path: "/api/v1/graphs/validate", Tag: "graphs", Summary: "Validate a graph document", Body: "Graph", Status: 200, Answer: "Problems"},
	{Method: "GET", Path: "/api/v1/graphs/:id", Tag: "graphs", Summary: "A graph with its draft, problems and versions; ETag is the draft revision", Status: 200, Answer: "GraphDetail"},
	{Method: "PUT", Path: "/api/v1/graphs/:id/draft", Tag: "graphs", Summary: "Save the draft (it may have problems); If-Match refuses a stale revision with 409", Body: "Graph", Status: 200, Answer: "Problems"},
	{Method: "POST", Path: "/api/v1/graphs/:id/versions", Tag: "graphs", Summary: "Publish the draft as the next version; 422 with problems", Body: "Publish", Status: 201, Answer: "Version"},
	{Method: "GET", Path: "/api/v1/graphs/:id/versions/:v", Tag: "graphs", Summary: "The graph document of a version", Status: 200, Answer: "Graph"},
	{Method: "POST", Path: "/api/v1/graphs/:id/versions/:v/retire", Tag: "graphs", Summary: "Retire a version: no new runs, running ones go on", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/graphs/:id/diff", Tag: "graphs", Summary: "Compare two versions (to may be draft)", Query: []string{"from", "to"}, Status: 200, Answer: "Diff"},
	{Method: "POST", Path: "/api/v1/graphs/:id/runs", Tag: "runs", Summary: "Start a run on a version (the latest unless named)", Body: "RunStart", Status: 201, Answer: "RunStarted"},
	{Method: "POST", Path: "/api/v1/graphs/:id/draft/runs", Tag: "runs", Summary: "Start a test run of the current draft, without publishing", Body: "RunStart", Status: 201, Answer: "RunStarted"},

	{Method: "GET", Path: "/api/v1/runs", Tag: "runs", Summary: "List runs; the next page token is in X-Next-Page and Link", Query: []string{"graph", "version", "status", "drafts", "limit", "page"}, Status: 200, Answer: "[]RunSummary"},
	{Method: "GET", Path: "/api/v1/runs/:id", Tag: "runs", Summary: "A run with every node's state", Status: 200, Answer: "Run"},
	{Method: "GET", Path: "/api/v1/runs/:id/timeline", Tag: "runs", Summary: "Every attempt, timer and human wait, in time order", Status: 200, Answer: "[]TimelineEntry"},
	{Method: "GET", Path: "/api/v1/runs/:id/history", Tag: "runs", Summary: "The run's raw Temporal history", Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/cancel", Tag: "runs", Summary: "Cancel a run; 409 when it has ended", Body: "Cancel", Status: 202, Answer: "Any"},

	{Method: "GET", Path: "/api/v1/tasks", Tag: "tasks", Summary: "List tasks; the next cursor is in X-Next-Cursor and Link", Query: []string{"state", "mine", "graph", "overdue", "limit", "after", "run", "node"}, Status: 200, Answer: "[]Task"},
	{Method: "GET", Path: "/api/v1/tasks/:id", Tag: "tasks", Summary: "A task with its form and instructions; 404 when it is not yours to see", Status: 200, Answer: "Task"},
	{Method: "POST", Path: "/api/v1/tasks/:id/decision", Tag: "tasks", Summary: "Decide a task: 403 not yours, 409 decided, 422 outcome or data do not fit", Body: "Decision", Status: 200, Answer: "Task"},
	{Method: "POST", Path: "/api/v1/tasks/decisions", Tag: "tasks", Summary: "Decide several tasks with one decision ({task_ids, outcome, data?, comment?}, at most 100): {decided: [id], refused: [{task_id, code, message}]}; 422 for none, too many or a task named twice", Body: "Any", Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/tasks/:id/claim", Tag: "tasks", Summary: "Take a group task for yourself", Status: 200, Answer: "Task"},
	{Method: "POST", Path: "/api/v1/tasks/:id/unclaim", Tag: "tasks", Summary: "Give a claimed task back to its group", Status: 200, Answer: "Task"},

	{Method: "GET", Path: "/api/v1/internal/hello", Tag: "internal", Summary: "Workers check their token and serve's reachability (role worker)", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/internal/secrets/:name", Tag: "internal", Summary: "A secret's value, for a remote worker's activity (role worker)", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/internal/providers/:name", Tag: "internal", Summary: "An LLM provider's settings, for a remote worker's activity (role worker)", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/internal/mcp-servers/:name", Tag: "internal", Summary: "An MCP server's settings, for a remote worker's agent tools (role worker)", Status: 200, Answer: "Any"},
}

//go:embed openapi_components.json
var openAPIComponents json.RawMessage

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIDocument builds the OpenAPI 3.1 document from apiOps.
func openAPIDocument() ([]byte, error) {
	paths := map[string]map[string]any{}
	for _, op := range apiOps {
		p := strings.TrimPrefix(echoParam.ReplaceAllString(op.Path, "{$1}"), "/api/v1")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(op.Method)] = op.operation()
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Trellis API", "version": "1",
			"description": "The JSON API of Trellis. Graph documents are described in docs/graph-format.md."},
		"servers":    []any{map[string]any{"url": "/api/v1"}},
		"security":   []any{map[string]any{"token": []any{}}},
		"paths":      paths,
		"components": openAPIComponents,
	}
	return json.MarshalIndent(doc, "", "  ")
}

func (op apiOp) operation() map[string]any {
	var params []any
	for _, m := range echoParam.FindAllStringSubmatch(op.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range op.Query {
		params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
	}
	errRef := map[string]any{"application/json": map[string]any{"schema": schemaRef("Error")}}
	o := map[string]any{
		"summary": op.Summary,
		"tags":    []string{op.Tag},
		"responses": map[string]any{
			fmt.Sprint(op.Status): map[string]any{"description": "Success",
				"content": map[string]any{"application/json": map[string]any{"schema": schemaRef(op.Answer)}}},
			"default": map[string]any{"description": "An error", "content": errRef},
		},
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Body != "" {
		o["requestBody"] = map[string]any{"required": true,
			"content": map[string]any{"application/json": map[string]any{"schema": schemaRef(op.Body)}}}
	}
	if op.Path == "/api/v1/healthz" {
		o["security"] = []any{}
	}
	return o
}

func schemaRef(name string) map[string]any {
	if item, ok := strings.CutPrefix(name, "[]"); ok {
		return map[string]any{"type": "array", "items": schemaRef(item)}
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// openAPIShow serves the OpenAPI document.
func (s *Server) openAPIShow(c echo.Context) error {
	doc, err := openAPIDocument()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/json", doc)
}
