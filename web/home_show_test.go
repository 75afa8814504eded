package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// TestHomeGreetsEachRole: the start page says what each role does, and tells a reviewer how
// many tasks wait.
func TestHomeGreetsEachRole(t *testing.T) {
	app, _ := newTaskApp(t, false)
	app.member("rita", "finance")
	app.addTask("run-1", "group:finance", time.Hour)
	app.addTask("run-2", "user:rita", 0)
	rita := app.client()
	rita.login("rita", testPassword)
	tests := []struct {
		name      string
		c         *testClient
		want, not []string
	}{
		{"reviewer", rita, []string{"Decide the steps of runs that wait for a person", `data-testid="home-tasks"`, "2 tasks wait for you or your groups.</strong>"},
			[]string{"Draw workflows", "Follow every run"}},
		{"analyst", app.signedIn("ana", store.RoleAnalyst), []string{"Draw workflows as graphs"},
			[]string{"Decide the steps", `data-testid="home-tasks"`}},
		{"developer", app.signedIn("dev", store.RoleDeveloper), []string{"Follow every run"}, []string{"Draw workflows"}},
		{"analyst and reviewer", app.signedIn("both", store.RoleAnalyst, store.RoleReviewer),
			[]string{"Draw workflows as graphs", "Decide the steps", "No task waits for you or your groups right now."}, nil},
		{"admin", app.signedIn("root", store.RoleAdmin), []string{"You manage people, LLM providers and secrets"}, []string{"Draw workflows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.get("/")
			wantStatus(t, r, http.StatusOK)
			wantContains(t, r.Body, tt.want...)
			for _, s := range tt.not {
				if strings.Contains(r.Body, s) {
					t.Errorf("home page of %s says %q", tt.name, s)
				}
			}
		})
	}
}
