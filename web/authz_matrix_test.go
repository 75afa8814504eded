package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// Who may call each route: the expectation the authorization matrix holds the routes table
// to. It is written out here, not derived from the table, so a route given the wrong roles
// fails, and a route missing here fails too: a new route must say who may use it.
const (
	accBare      = "bare"   // no sign-in, no session (health, static files, hook deliveries)
	accPublic    = "public" // no sign-in; session and CSRF still apply
	accSignedIn  = "signed-in"
	accAdmin     = "admin"
	accAnalyst   = "analyst"
	accAnaDev    = "analyst,developer"
	accDeveloper = "developer"
	accReviewer  = "reviewer"
	accWorker    = "worker" // a worker token only; not even admins
)

var routeAccess = map[string]string{
	"GET /healthz": accBare, "GET /api/v1/healthz": accBare, "GET /static/:version/*": accBare, "POST /hooks/:hook": accBare,
	"GET /login": accPublic, "POST /login": accPublic,
	"GET /api/v1/openapi.json": accSignedIn, "GET /live/changes": accSignedIn, "POST /logout": accSignedIn, "GET /": accSignedIn,
	"GET /settings/notifications": accSignedIn, "POST /settings/notifications": accSignedIn, "POST /mcp": accSignedIn,

	// Administration.
	"GET /admin/users": accAdmin, "POST /admin/users": accAdmin, "GET /admin/users/:name": accAdmin, "POST /admin/users/:name": accAdmin,
	"POST /admin/users/:name/disable": accAdmin, "POST /admin/users/:name/enable": accAdmin, "GET /admin/users/:name/delete": accAdmin,
	"POST /admin/users/:name/delete": accAdmin, "POST /admin/users/:name/tokens/:id/revoke": accAdmin, "GET /admin/tokens": accAdmin,
	"POST /admin/tokens/:id/revoke": accAdmin, "GET /admin/providers": accAdmin, "POST /admin/providers": accAdmin,
	"GET /admin/mcp-servers": accAdmin, "POST /admin/mcp-servers": accAdmin, "POST /admin/mcp-servers/:name/delete": accAdmin,
	"POST /admin/providers/:name/delete": accAdmin, "GET /admin/secrets": accAdmin, "POST /admin/secrets": accAdmin,
	"GET /admin/notifications": accAdmin, "POST /admin/notifications": accAdmin, "POST /admin/notifications/test": accAdmin,
	"GET /admin/notifications/deliveries": accAdmin,

	// Graphs: analysts change them, developers read them.
	"GET /api/v1/graphs": accAnaDev, "POST /api/v1/graphs": accAnalyst, "POST /api/v1/graphs/validate": accAnaDev,
	"GET /api/v1/graphs/:id": accAnaDev, "PUT /api/v1/graphs/:id/draft": accAnalyst, "POST /api/v1/graphs/:id/versions": accAnalyst,
	"GET /api/v1/graphs/:id/versions/:v": accAnaDev, "POST /api/v1/graphs/:id/versions/:v/retire": accAnalyst,
	"GET /api/v1/graphs/:id/diff": accAnaDev, "POST /api/v1/graphs/:id/runs": accAnalyst,
	"GET /graphs": accAnaDev, "POST /graphs": accAnalyst, "POST /graphs/import": accAnalyst, "GET /graphs/:id": accAnaDev,
	"GET /graphs/:id/export": accAnaDev, "POST /graphs/:id/rename": accAnalyst, "POST /graphs/:id/duplicate": accAnalyst,
	"POST /graphs/:id/delete": accAnalyst, "POST /graphs/:id/versions": accAnalyst, "GET /graphs/:id/versions/:v": accAnaDev,
	"POST /graphs/:id/versions/:v/retire": accAnalyst, "POST /graphs/:id/versions/:v/restore": accAnalyst,
	"GET /graphs/:id/diff": accAnaDev, "GET /graphs/:id/runs/new": accAnalyst, "POST /graphs/:id/runs": accAnalyst,
	"GET /graphs/:id/edit": accAnalyst, "POST /graphs/:id/edit/node-form": accAnalyst, "POST /graphs/:id/edit/preview": accAnalyst, "GET /graphs/:id/edit/mcp-tools": accAnalyst,
	"POST /api/v1/graphs/:id/draft/runs": accAnalyst, "GET /graphs/:id/test-run": accAnalyst, "POST /graphs/:id/test-run": accAnalyst,
	"GET /api/v1/graphs/:id/traffic": accAnaDev, "PUT /api/v1/graphs/:id/traffic": accAnalyst,
	"GET /api/v1/graphs/:id/versions/stats": accAnaDev, "GET /graphs/:id/versions": accAnaDev,
	"POST /graphs/:id/traffic": accAnalyst, "POST /graphs/:id/traffic/promote": accAnalyst,

	// Runs: both read them; developers operate them (cancel, retry, skip, fail, pause).
	"GET /api/v1/runs": accAnaDev, "GET /api/v1/runs/:id": accAnaDev, "GET /api/v1/runs/:id/timeline": accAnaDev,
	"GET /api/v1/runs/:id/history": accAnaDev, "POST /api/v1/runs/:id/cancel": accDeveloper,
	"GET /runs": accAnaDev, "GET /runs/:id": accAnaDev, "GET /runs/:id/history": accAnaDev, "GET /runs/:id/events": accAnaDev,
	"POST /runs/:id/cancel": accDeveloper, "POST /runs/:id/rerun": accAnalyst,
	"POST /api/v1/runs/:id/nodes/:node/retry": accDeveloper, "POST /runs/:id/nodes/:node/retry": accDeveloper,
	"POST /api/v1/runs/:id/nodes/:node/skip": accDeveloper, "POST /runs/:id/nodes/:node/skip": accDeveloper,
	"POST /api/v1/runs/:id/nodes/:node/fail": accDeveloper, "POST /runs/:id/nodes/:node/fail": accDeveloper,
	"POST /api/v1/runs/:id/pause": accDeveloper, "POST /runs/:id/pause": accDeveloper,
	"POST /api/v1/runs/:id/resume": accDeveloper, "POST /runs/:id/resume": accDeveloper,
	"GET /api/v1/runs/:id/rewind": accAnaDev, "POST /api/v1/runs/:id/rewind": accAnaDev,
	"GET /runs/:id/rewind": accAnaDev, "POST /runs/:id/rewind": accAnaDev,
	"GET /api/v1/runs/:id/migrate": accAnaDev, "POST /api/v1/runs/:id/migrate": accAnaDev,
	"GET /runs/:id/migrate": accAnaDev, "POST /runs/:id/migrate": accAnaDev, "GET /runs/held-count": accDeveloper,
	"POST /api/v1/runs/bulk": accAnaDev, "GET /api/v1/batches/:id": accAnaDev, "POST /api/v1/batches/:id/cancel": accDeveloper,
	"POST /runs/bulk": accAnaDev, "GET /batches/:id": accAnaDev, "POST /batches/:id/cancel": accDeveloper,

	// Tasks: reviewers (object rules inside: TestTaskAPIShow, TestTaskPage).
	"GET /api/v1/tasks": accReviewer, "GET /api/v1/tasks/:id": accReviewer, "POST /api/v1/tasks/:id/decision": accReviewer, "POST /api/v1/tasks/decisions": accReviewer,
	"POST /api/v1/tasks/:id/claim": accReviewer, "POST /api/v1/tasks/:id/unclaim": accReviewer,
	"GET /inbox": accReviewer, "POST /inbox/decisions": accReviewer, "GET /tasks/:id": accReviewer, "POST /tasks/:id/decision": accReviewer,
	"POST /tasks/:id/claim": accReviewer, "POST /tasks/:id/unclaim": accReviewer, "GET /inbox/counts": accReviewer,

	// Triggers: analysts.
	"GET /api/v1/graphs/:id/hooks": accAnalyst, "POST /api/v1/graphs/:id/hooks": accAnalyst,
	"PATCH /api/v1/graphs/:id/hooks/:hook": accAnalyst, "POST /api/v1/graphs/:id/hooks/:hook/rotate": accAnalyst,
	"GET /api/v1/graphs/:id/schedules": accAnalyst, "POST /api/v1/graphs/:id/schedules": accAnalyst,
	"GET /api/v1/schedules/:sid": accAnalyst, "PATCH /api/v1/schedules/:sid": accAnalyst, "DELETE /api/v1/schedules/:sid": accAnalyst,
	"POST /api/v1/schedules/:sid/trigger": accAnalyst, "GET /graphs/:id/triggers": accAnalyst, "POST /graphs/:id/hooks": accAnalyst,
	"POST /graphs/:id/hooks/:hook/rotate": accAnalyst, "POST /graphs/:id/hooks/:hook/disable": accAnalyst,
	"POST /graphs/:id/hooks/:hook/enable": accAnalyst, "POST /graphs/:id/schedules": accAnalyst,
	"POST /graphs/:id/schedules/:sid/pause": accAnalyst, "POST /graphs/:id/schedules/:sid/resume": accAnalyst,
	"POST /graphs/:id/schedules/:sid/trigger": accAnalyst, "POST /graphs/:id/schedules/:sid/delete": accAnalyst,

	// The internal API of remote workers.
	"GET /api/v1/internal/hello": accWorker, "GET /api/v1/internal/secrets/:name": accWorker,
	"GET /api/v1/internal/providers/:name": accWorker, "GET /api/v1/internal/mcp-servers/:name": accWorker,
}

// matrixSubjects are who the matrix tries each route as: nobody, one user per role, and a
// worker token.
var matrixSubjects = append(append([]string{"anonymous"}, store.Roles...), accWorker)

// mayUse says whether subject may use a route of access acc.
func mayUse(acc, subject string) bool {
	switch acc {
	case accBare, accPublic:
		return true
	case accWorker:
		return subject == accWorker
	}
	if subject == "anonymous" || subject == accWorker {
		return false
	}
	return acc == accSignedIn || subject == store.RoleAdmin || slices.Contains(strings.Split(acc, ","), subject)
}

// TestAuthorizationMatrix walks the echo route table and tries every route as every subject:
// one that may use it must get past authorization (not 401, 403, a redirect to /login, or a
// 500), one that may not gets 401 (anonymous, under /api/v1) or the sign-in redirect (pages)
// or 403.
func TestAuthorizationMatrix(t *testing.T) {
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Users = WorkerTokens(db, []string{"matrix-worker-token"})
		s.Deps.Graphs, s.Deps.Triggers, s.Deps.Tasks, s.Deps.Notifications = db, db, db, testNotify{db}
	}))
	seen := map[string]bool{}
	for _, er := range app.Server.echo.Routes() {
		key := er.Method + " " + er.Path
		if seen[key] || er.Method == echoRouteNotFound {
			continue
		}
		seen[key] = true
		acc, ok := routeAccess[key]
		if !ok {
			t.Errorf("route %s has no row in routeAccess: say who may use it", key)
			continue
		}
		r, inTable := app.Server.byKey[key]
		if !inTable {
			t.Errorf("route %s is mounted outside the routes table", key)
			continue
		}
		for _, subject := range matrixSubjects {
			got := matrixCall(t, app, r, subject)
			if msg := matrixVerdict(r, acc, subject, got); msg != "" {
				t.Errorf("%s as %s: %s", key, subject, msg)
			}
		}
	}
	for key := range routeAccess {
		if !seen[key] {
			t.Errorf("routeAccess lists %s, which is not a route: take it out", key)
		}
	}
}

// echoRouteNotFound is the method echo gives its own not-found and method-not-allowed routes.
const echoRouteNotFound = "echo_route_not_found"

type matrixAnswer struct {
	status   int
	location string
}

func matrixVerdict(r Route, acc, subject string, got matrixAnswer) string {
	toLogin := got.status == http.StatusSeeOther && strings.HasPrefix(got.location, "/login")
	api := strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/mcp"
	switch key := r.Method + " " + r.Path; {
	case key == "POST /login" && got.status == http.StatusUnauthorized:
		return "" // the empty form's wrong credentials: past authorization
	case key == "POST /logout" && subject != "anonymous" && subject != accWorker && toLogin:
		return "" // signed out, as asked
	}
	if mayUse(acc, subject) {
		if got.status == http.StatusUnauthorized || got.status == http.StatusForbidden || toLogin || got.status >= 500 && got.status != http.StatusServiceUnavailable {
			return fmt.Sprintf("may use it, got %d %s", got.status, got.location)
		}
		return ""
	}
	if subject == accWorker && !api {
		subject = "anonymous" // a bearer token counts only under /api/v1
	}
	switch {
	case subject == "anonymous" && api && got.status != http.StatusUnauthorized:
		return fmt.Sprintf("got %d, want 401", got.status)
	case subject == "anonymous" && !api && !toLogin:
		return fmt.Sprintf("got %d %s, want 303 to /login", got.status, got.location)
	case subject != "anonymous" && got.status != http.StatusForbidden:
		return fmt.Sprintf("may not use it, got %d, want 403", got.status)
	}
	return ""
}

// matrixCall sends the request a route expects as subject, a fresh client each time (a
// route may end the session), and reads only the status: event streams never end.
func matrixCall(t *testing.T, app *testApp, r Route, subject string) matrixAnswer {
	t.Helper()
	c := app.client()
	api := strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/mcp"
	var headers []string
	switch subject {
	case "anonymous":
	case accWorker:
		headers = append(headers, "Authorization", "Bearer matrix-worker-token")
	default:
		c = app.signedIn("matrix-"+subject, subject)
	}
	csrf := ""
	if subject != accWorker || !api {
		csrf = c.csrfToken() // a worker sends no cookies to the API; on pages it is a visitor
	}
	path := concretePath(r.Path)
	var req *http.Request
	switch {
	case api:
		if csrf != "" {
			headers = append(headers, CSRFHeader, csrf)
		}
		var body *strings.Reader
		if !isSafeMethod(r.Method) {
			b, _ := json.Marshal(map[string]any{})
			body = strings.NewReader(string(b))
		}
		if body != nil {
			req = c.request(r.Method, path, body, headers...)
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = c.request(r.Method, path, nil, headers...)
		}
	case isSafeMethod(r.Method):
		req = c.request(r.Method, path, nil, headers...)
	default:
		form := url.Values{}
		if csrf != "" {
			form.Set(CSRFField, csrf)
		}
		req = c.request(r.Method, path, strings.NewReader(form.Encode()), headers...)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := c.hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s as %s: %v", r.Method, path, subject, err)
	}
	resp.Body.Close()
	return matrixAnswer{status: resp.StatusCode, location: resp.Header.Get("Location")}
}

// TestAuthorizationMatrixTasks is the object rule of tasks across every task route: a
// reviewer outside a task's group gets 404 from each, as for a task that does not exist, and
// the task is in no list of theirs; a member gets past every one.
func TestAuthorizationMatrixTasks(t *testing.T) {
	app, _ := newTaskApp(t, false)
	task := app.addTask("run-1", "group:finance", 0)
	if r := app.memberClient("max", "finance").get("/inbox"); !strings.Contains(r.Body, task.Title) {
		t.Fatalf("the inbox of a member does not show the task, so the lists below prove nothing")
	}
	outsider := app.memberClient("olga", "legal")
	member := app.memberClient("mia", "finance")
	outsiderAPI := app.memberAPI("otto", "legal")
	n := 0
	for _, r := range app.Server.Routes() {
		if !strings.Contains(r.Path, "/tasks/:id") {
			continue
		}
		n++
		path := strings.Replace(r.Path, ":id", task.ID, 1)
		for who, c := range map[string]*testClient{"olga": outsider, "mia": member} {
			var resp *testResponse
			switch {
			case strings.HasPrefix(path, "/api/v1/") && isSafeMethod(r.Method):
				resp = c.do(c.request(r.Method, path, nil))
			case strings.HasPrefix(path, "/api/v1/"):
				resp = c.sendJSON(r.Method, path, map[string]any{"outcome": "approve", "data": map[string]any{"amount": 1}}, CSRFHeader, c.csrfToken())
			case isSafeMethod(r.Method):
				resp = c.get(path)
			default:
				resp = c.postForm(path, url.Values{"outcome": {"approve"}, "amount": {"1"}})
			}
			if who == "olga" && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s as a reviewer of another group: %d, want 404", r.Method, path, resp.StatusCode)
			}
			if who == "mia" && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
				t.Errorf("%s %s as a member: %d", r.Method, path, resp.StatusCode)
			}
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/api/v1/") {
			wantStatus(t, outsiderAPI.get(strings.TrimPrefix(path, "/api/v1")), http.StatusNotFound)
		}
	}
	if n < 8 {
		t.Fatalf("only %d task routes found", n)
	}
	for _, list := range []string{"/inbox", "/inbox?state=done", "/api/v1/tasks", "/api/v1/tasks?state=done"} {
		r := outsider.get(list)
		wantStatus(t, r, http.StatusOK)
		if strings.Contains(r.Body, "/tasks/"+task.ID+`"`) || strings.Contains(r.Body, `"id":"`+task.ID+`"`) || strings.Contains(r.Body, task.Title) {
			t.Errorf("%s lists another group's task", list)
		}
	}
}
