package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
)

// GraphStore is what the graph pages and API need of the store (*store.DB implements it).
// Errors: store.ErrNotFound for an unknown graph or version; store.ErrInvalid for a bad name,
// id, note or document; store.ErrConflict from SaveDraft when the base revision is stale, from
// PublishVersion when the definition equals the latest version, and from CreateGraphWithID
// for a taken id.
type GraphStore interface {
	CreateGraph(ctx context.Context, name string, draft json.RawMessage, by string) (*store.Graph, error)
	CreateGraphWithID(ctx context.Context, id, name string, draft json.RawMessage, by string) (*store.Graph, error)
	GetGraph(ctx context.Context, id string) (*store.Graph, error)
	ListGraphs(ctx context.Context) ([]store.GraphSummary, error)
	RenameGraph(ctx context.Context, id, name, by string) error
	DeleteGraph(ctx context.Context, id string) error
	SaveDraft(ctx context.Context, id string, draft json.RawMessage, draftHash string, baseRevision int64, by string) (int64, error)
	PublishVersion(ctx context.Context, id string, def json.RawMessage, hash, note, author string) (*store.Version, error)
	ListVersions(ctx context.Context, id string) ([]store.Version, error)
	GetVersion(ctx context.Context, id string, version int) (*store.Version, error)
	LatestVersion(ctx context.Context, id string) (*store.Version, error)
	RetireVersion(ctx context.Context, id string, version int) error
	// RunsStartedSince counts each graph's runs started since a time, in one query.
	RunsStartedSince(ctx context.Context, since time.Time) (map[string]int, error)
}

// Role sets of the graph routes (admins have every role).
var (
	graphReaders = []string{store.RoleAnalyst, store.RoleDeveloper}
	graphWriters = []string{store.RoleAnalyst}
)

// Limits of the graph routes.
const (
	// maxGraphBytes is the largest graph document (api.md).
	maxGraphBytes = actions.MaxGraphBytes
	// maxGraphRunInput is the largest run input (api.md).
	maxGraphRunInput = actions.MaxRunInputBytes
	// graphFormLimit bounds small forms (rename, retire, publish note).
	graphFormLimit = 64 << 10
)

// needGraphs answers 503 when the server was built without a graph store, rather than
// failing on a nil interface.
func (s *Server) needGraphs(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Graphs == nil {
			return NewError(http.StatusServiceUnavailable, "Graphs are not available on this server.")
		}
		return h(c)
	}
}

// graphActor is the signed-in user's name, recorded as author and editor.
func graphActor(c echo.Context) string {
	if u := CurrentUser(c); u != nil {
		return u.Name
	}
	return ""
}

// graphParam loads the graph named by the :id parameter.
func (s *Server) graphParam(c echo.Context) (*store.Graph, error) {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return nil, NewError(http.StatusNotFound, fmt.Sprintf("There is no graph %q.", id))
	}
	return s.deps.Graphs.GetGraph(c.Request().Context(), id)
}

// graphVersionsParam is graphParam with the graph's versions, newest first.
func (s *Server) graphVersionsParam(c echo.Context) (*store.Graph, []store.Version, error) {
	g, err := s.graphParam(c)
	if err != nil {
		return nil, nil, err
	}
	versions, err := s.deps.Graphs.ListVersions(c.Request().Context(), g.ID)
	return g, versions, err
}

// parseGraphVersion reads a version number such as "3" (or "v3").
func parseGraphVersion(text string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(text), "v"))
	if err != nil || n < 1 {
		return 0, NewError(http.StatusBadRequest, fmt.Sprintf("%q is not a version number; versions are 1, 2, 3, …", text))
	}
	return n, nil
}

// graphVersionParam loads the version named by the :id and :v parameters.
func (s *Server) graphVersionParam(c echo.Context) (*store.Version, error) {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return nil, NewError(http.StatusNotFound, fmt.Sprintf("There is no graph %q.", id))
	}
	n, err := parseGraphVersion(c.Param("v"))
	if err != nil {
		return nil, NewError(http.StatusNotFound, fmt.Sprintf("There is no version %q of %s.", c.Param("v"), id))
	}
	return s.deps.Graphs.GetVersion(c.Request().Context(), id, n)
}

// checkGraphDoc parses and validates a graph document for graph selfID ("" for none); the
// error is for input that is not a graph at all (413, 400).
func (s *Server) checkGraphDoc(ctx context.Context, doc []byte, selfID string) (*actions.Checked, error) {
	return s.actions.Check(ctx, doc, selfID)
}

// draftProblems validates a stored draft; a draft that is not a graph at all yields one
// problem saying so, so that pages can still show it.
func (s *Server) draftProblems(ctx context.Context, g *store.Graph) (*designer.Graph, []designer.Problem) {
	cd, err := s.checkGraphDoc(ctx, g.Draft, g.ID)
	if err != nil {
		return nil, []designer.Problem{{Message: AsError(err).Message}}
	}
	return cd.Graph, cd.Problems
}

// parseVersionDefinition reads a published definition; a failure is internal.
var parseVersionDefinition = actions.ParseVersion
