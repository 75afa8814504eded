package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
)

// RunEngine is what the run pages and API need of the engine (*engine.Engine implements it).
// Errors: engine.ErrRunNotFound for an unknown run; engine.ErrRunClosed from CancelRun for a
// run that has ended; engine.ErrBadFilter from ListRunRows for a filter it cannot use.
type RunEngine interface {
	// ListRunRows lists runs (still going first, then by end) with who started each.
	ListRunRows(ctx context.Context, f engine.RunFilter) ([]engine.RunRow, []byte, error)
	GetRun(ctx context.Context, runID string) (*engine.Run, error)
	// Timeline is the run as its history tells it, with the pinned definition.
	Timeline(ctx context.Context, runID string) (*engine.Timeline, error)
	// RunHistory is the raw Temporal history as JSON.
	RunHistory(ctx context.Context, runID string) ([]byte, error)
	CancelRun(ctx context.Context, runID, reason string) error
}

// Role sets of the run routes (admins have every role): developers and analysts read runs,
// developers cancel them, analysts start them again.
var (
	runReaders    = []string{store.RoleDeveloper, store.RoleAnalyst}
	runCancellers = []string{store.RoleDeveloper}
	runStarters   = []string{store.RoleAnalyst}
)

const (
	// runFormLimit bounds the small forms of the run pages (cancel, run again).
	runFormLimit = 16 << 10
	// runPageSize is how many runs a page of the list shows.
	runPageSize = 50
)

// runIDPattern admits the ids Trellis gives runs (run-<hex>, and .<node> for subgraph runs)
// and those of runs started by other tools, but nothing that could confuse a URL or a query.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,254}$`)

// needRuns answers 503 when the server was built without an engine.
func (s *Server) needRuns(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Runs == nil {
			return NewError(http.StatusServiceUnavailable, "Runs are not available: this server is not connected to the workflow engine.")
		}
		return h(c)
	}
}

// runIDParam is the :id parameter, checked; a malformed id is a run that does not exist.
func runIDParam(c echo.Context) (string, error) {
	id := c.Param("id")
	if !runIDPattern.MatchString(id) {
		return "", NewError(http.StatusNotFound, fmt.Sprintf("There is no run %q.", id))
	}
	return id, nil
}

// runPageToken and runParsePageToken carry Temporal's opaque visibility page token in URLs.
func runPageToken(tok []byte) string {
	if len(tok) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tok)
}

func runParsePageToken(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 4096 {
		return nil, NewError(http.StatusBadRequest, "The page token is not one this server gave out; start again from the first page.")
	}
	return b, nil
}
