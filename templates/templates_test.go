package templates

import (
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

func render(t *testing.T, ctx context.Context, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func signedIn(name string, roles ...string) context.Context {
	ctx := WithViewer(context.Background(), &Viewer{Name: name, Roles: roles, Nav: []NavLink{
		{Label: "Graphs", Href: "/graphs", TestID: "nav-graphs"},
		{Label: "Runs", Href: "/runs", TestID: "nav-runs"},
	}})
	return WithCSRF(ctx, "tok-123")
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name    string
		ctx     context.Context
		page    Page
		want    []string
		notWant []string
	}{
		{
			name: "anonymous",
			ctx:  context.Background(),
			page: Page{Title: "Sign in", Narrow: true},
			want: []string{
				"<title>Sign in · Trellis</title>", `<a class="skip-link" href="#main">`, `<main id="main" tabindex="-1" class="container container-narrow">`,
				`lang="en"`, Asset("css/app.css"), Asset(HTMXFile), Asset("js/app.js"),
			},
			notWant: []string{`data-testid="nav"`, `data-testid="logout"`, "<script>", " style="},
		},
		{
			name: "signed in, current section",
			ctx:  signedIn("alice", "analyst"),
			page: Page{Title: "Graphs", Section: "/graphs", Body: templ.Raw("<p>body</p>")},
			want: []string{
				`<a href="/graphs" data-testid="nav-graphs" aria-current="page">Graphs</a>`,
				`<a href="/runs" data-testid="nav-runs">Runs</a>`,
				`data-testid="user-name">alice</span>`,
				`<form method="post" action="/logout"><input type="hidden" name="_csrf" value="tok-123">`,
				`<meta name="csrf-token" content="tok-123">`,
				`hx-headers="{&#34;X-CSRF-Token&#34;:&#34;tok-123&#34;}"`,
				"<p>body</p>",
			},
		},
		{
			name:    "untitled page, hostile name",
			ctx:     signedIn(`<script>alert(1)</script>`),
			page:    Page{},
			want:    []string{"<title>Trellis</title>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			notWant: []string{"<script>alert(1)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := render(t, tt.ctx, Layout(tt.page))
			for _, w := range tt.want {
				if !strings.Contains(html, w) {
					t.Errorf("missing %s", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(html, w) {
					t.Errorf("unexpected %s", w)
				}
			}
		})
	}
}

func TestViewerHasRole(t *testing.T) {
	var nobody *Viewer
	tests := []struct {
		v    *Viewer
		role string
		want bool
	}{
		{&Viewer{Roles: []string{"analyst"}}, "analyst", true},
		{&Viewer{Roles: []string{"analyst"}}, "reviewer", false},
		{&Viewer{Roles: []string{"admin"}}, "reviewer", true},
		{nobody, "analyst", false},
	}
	for _, tt := range tests {
		if got := tt.v.HasRole(tt.role); got != tt.want {
			t.Errorf("%v.HasRole(%q) = %v", tt.v, tt.role, got)
		}
	}
}

func TestStatusBadge(t *testing.T) {
	for _, s := range []string{"pending", "running", "waiting", "completed", "failed", "skipped", "cancelled"} {
		html := render(t, context.Background(), StatusBadge(s))
		if !strings.Contains(html, `class="badge badge-`+s+`"`) || !strings.Contains(html, ">"+s+"<") {
			t.Errorf("%s: %s", s, html)
		}
	}
	if got := StatusClass(`x" onclick="y`); got != "badge badge-neutral" {
		t.Errorf("unknown status class = %q", got)
	}
}

func TestLoginKeepsName(t *testing.T) {
	html := render(t, WithCSRF(context.Background(), "tok"), Login(LoginProps{Name: "alice", Next: "/runs", Error: "Wrong user name or password."}))
	for _, w := range []string{`value="alice"`, `name="next" value="/runs"`, `role="alert"`, `name="_csrf" value="tok"`, `aria-describedby="login-error"`} {
		if !strings.Contains(html, w) {
			t.Errorf("missing %s", w)
		}
	}
	// With the name kept, the cursor goes to the password.
	if !strings.Contains(html, `data-testid="login-password" autofocus`) {
		t.Error("password field not focused")
	}
}

func TestAdminUsersForm(t *testing.T) {
	html := render(t, signedIn("root", "admin"), AdminUsers(AdminUsersProps{
		Users:     []UserRow{{Name: "alice", Roles: []string{"analyst"}, Groups: []string{"finance"}}},
		RoleNames: []string{"analyst", "reviewer", "developer", "admin"},
		Form:      UserForm{Name: "bob", Roles: []string{"reviewer"}, Errors: map[string]string{"password": "A new user needs a password."}},
	}))
	for _, w := range []string{
		`data-testid="user-row-alice"`, "finance",
		`value="reviewer" checked`, `data-testid="user-password-error"`, "A new user needs a password.",
		`method="post" action="/admin/users"`,
	} {
		if !strings.Contains(html, w) {
			t.Errorf("missing %s", w)
		}
	}
	if strings.Contains(html, `value="analyst" checked`) {
		t.Error("an unchosen role is checked")
	}
}
