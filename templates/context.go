// Package templates holds the templ components of the web UI. Components take typed props and
// read only the current viewer and the CSRF token from the context (see WithViewer, WithCSRF).
package templates

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/a-h/templ"

	"trellis/static"
)

// RoleAdmin is the role that implies every other role (mirrors store.RoleAdmin).
const RoleAdmin = "admin"

// HTMXFile is the vendored htmx build the layout loads, relative to the static root.
const HTMXFile = "vendor/htmx-2.0.11.min.js"

// SSEFile is htmx's server-sent events extension, for the live run page and the stream of
// changes every signed-in page holds.
const SSEFile = "vendor/htmx-ext-sse-2.2.4.min.js"

// Viewer is the signed-in user as templates see it.
type Viewer struct {
	ID     int64
	Name   string
	Roles  []string
	Groups []string
	// Nav lists the sections this user may open, in menu order (computed by web from its routes).
	Nav []NavLink
}

// HasRole reports whether the viewer has role; admins have every role.
func (v *Viewer) HasRole(role string) bool {
	if v == nil {
		return false
	}
	return slices.Contains(v.Roles, role) || slices.Contains(v.Roles, RoleAdmin)
}

// InGroup reports whether the viewer belongs to group g.
func (v *Viewer) InGroup(g string) bool {
	return v != nil && slices.Contains(v.Groups, g)
}

// NavLink is one entry of the main navigation and of the home page.
type NavLink struct {
	Label       string
	Href        string
	TestID      string // data-testid of the link, e.g. "nav-graphs"
	Description string // one sentence for the home page
}

// Page is a whole page: the layout wraps Body.
type Page struct {
	Title   string // the <title> before " · Trellis"; empty shows only "Trellis"
	Section string // href of the nav link to mark as current, e.g. "/graphs"
	Narrow  bool   // a narrow column, for forms
	// OwnStream: the page holds an event stream of its own (a live run), so it does not open
	// the shared one and spares the browser's few connections per host.
	OwnStream bool
	Body      templ.Component
}

type ctxKey int

const (
	viewerKey ctxKey = iota
	csrfKey
)

// WithViewer returns ctx carrying the signed-in viewer (nil for anonymous).
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey, v)
}

// ViewerFrom returns the signed-in viewer, or nil when nobody is signed in.
func ViewerFrom(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey).(*Viewer)
	return v
}

// WithCSRF returns ctx carrying the CSRF token that forms must send back as _csrf.
func WithCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

// CSRFToken returns the CSRF token for forms ("" when none is known).
func CSRFToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey).(string)
	return t
}

// Asset returns the cache-busting URL of a static file, e.g. Asset("css/app.css").
func Asset(name string) string { return static.URL(name) }

// hxHeaders is the hx-headers value that makes every htmx request carry the CSRF token.
func hxHeaders(ctx context.Context) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": CSRFToken(ctx)})
	return string(b)
}

// htmxConfig turns off what CSP would block (inline indicator styles, eval), swaps 422 answers
// (forms re-rendered with their errors) and keeps history restores as full-page requests.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"selfRequestsOnly":true,"historyRestoreAsHxRequest":false,"responseHandling":[` +
	`{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},` +
	`{"code":"[45]..","swap":false,"error":true}]}`

// pageTitle is the text of <title>.
func pageTitle(p Page) string {
	if p.Title == "" {
		return "Trellis"
	}
	return p.Title + " · Trellis"
}

// StatusClass returns the badge class for a run or node status, e.g. "badge badge-failed".
func StatusClass(status string) string {
	switch status {
	case "pending", "running", "waiting", "completed", "failed", "skipped", "cancelled":
		return "badge badge-" + status
	}
	return "badge badge-neutral"
}

// Plural is a count with its word: "1 run", "2 runs" (words that add an s).
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
