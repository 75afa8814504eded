package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/engine"
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
}

// RunStarter starts a run on a pinned version (*engine.Engine implements it). An error
// matching engine.ErrInvalidDefinition means the definition cannot run.
type RunStarter interface {
	StartRun(ctx context.Context, req engine.StartRunRequest) (string, error)
}

// RunCounter is optionally implemented by the RunStarter: how many runs a graph has had, so
// that a graph is deleted only when no run needs it.
type RunCounter interface {
	CountRuns(ctx context.Context, graphID string) (int, error)
}

// RecentRunCounter is optionally implemented by the RunStarter: how many runs of a graph
// started since a time, for the "runs in the last day" column of the graph list.
type RecentRunCounter interface {
	CountRunsSince(ctx context.Context, graphID string, since time.Time) (int, error)
}

// Role sets of the graph routes (admins have every role).
var (
	graphReaders = []string{store.RoleAnalyst, store.RoleDeveloper}
	graphWriters = []string{store.RoleAnalyst}
)

// Limits of the graph routes.
const (
	// maxGraphBytes is the largest graph document (api.md).
	maxGraphBytes = 2 << 20
	// maxGraphRunInput is the largest run input (api.md).
	maxGraphRunInput = 256 << 10
	// graphFormLimit bounds small forms (rename, retire, publish note).
	graphFormLimit = 64 << 10
)

// graphLimits are the designer's parse limits for graph documents.
var graphLimits = designer.Limits{MaxBytes: maxGraphBytes}

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

// validateEnv is what validation needs to know about other graphs: which exist, and which
// subgraphs their drafts and latest versions use.
func (s *Server) validateEnv(ctx context.Context, selfID string) designer.ValidateEnv {
	return designer.ValidateEnv{
		SelfID: selfID,
		GraphExists: func(id string) bool {
			if !store.ValidGraphID(id) {
				return false
			}
			_, err := s.deps.Graphs.GetGraph(ctx, id)
			// A store failure is not a problem of the graph; publishing fails on it anyway.
			return err == nil || !errors.Is(err, store.ErrNotFound)
		},
		SubgraphDeps: func(id string) []string { return s.graphSubgraphDeps(ctx, id) },
	}
}

// graphSubgraphDeps lists the graphs that id's draft and latest version run as subgraphs.
func (s *Server) graphSubgraphDeps(ctx context.Context, id string) []string {
	if !store.ValidGraphID(id) {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(doc json.RawMessage) {
		for _, d := range graphSubgraphsOf(doc) {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	if g, err := s.deps.Graphs.GetGraph(ctx, id); err == nil {
		add(g.Draft)
	}
	if v, err := s.deps.Graphs.LatestVersion(ctx, id); err == nil {
		add(v.Definition)
	}
	return out
}

// graphSubgraphsOf reads the graph ids of a document's subgraph nodes, leniently: a broken
// document simply has none.
func graphSubgraphsOf(doc json.RawMessage) []string {
	var d struct {
		Nodes []struct {
			Kind   string          `json:"kind"`
			Config json.RawMessage `json:"config"`
		} `json:"nodes"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	var out []string
	for _, n := range d.Nodes {
		if n.Kind != designer.KindSubgraph {
			continue
		}
		var cfg struct {
			Graph string `json:"graph"`
		}
		if json.Unmarshal(n.Config, &cfg) == nil && cfg.Graph != "" {
			out = append(out, cfg.Graph)
		}
	}
	return out
}

// checkedGraphDoc is a draft read and validated.
type checkedGraphDoc struct {
	Graph    *designer.Graph
	Problems []designer.Problem
	// Hash is the content hash when the document parsed without problems, else "".
	Hash string
}

// checkGraphDoc parses and validates a graph document for graph selfID ("" for none). The
// error is for input that is not a graph at all: 413 over the size limit, 400 otherwise.
func (s *Server) checkGraphDoc(ctx context.Context, doc []byte, selfID string) (*checkedGraphDoc, error) {
	g, probs, err := designer.Parse(doc, graphLimits)
	if err != nil {
		return nil, notAGraphError(err)
	}
	cd := &checkedGraphDoc{Graph: g}
	if len(probs) == 0 {
		if h, err := designer.Hash(g); err == nil {
			cd.Hash = h
		}
	}
	// As designer.ParseAndValidate does, but without parsing twice: Validate repeats some
	// of Parse's problems (the format).
	seen := make(map[string]bool, len(probs))
	for _, p := range probs {
		seen[graphProblemKey(p)] = true
	}
	for _, p := range designer.Validate(g, s.validateEnv(ctx, selfID)) {
		if !seen[graphProblemKey(p)] {
			probs = append(probs, p)
		}
	}
	cd.Problems = graphProblemsOrEmpty(probs)
	return cd, nil
}

// notAGraphError turns a Parse error into a 413 or a 400 with the parser's (safe) explanation.
func notAGraphError(err error) *Error {
	if errors.Is(err, designer.ErrTooLarge) {
		e := NewError(http.StatusRequestEntityTooLarge, sentence(err.Error())+".")
		e.Err = err
		return e
	}
	e := NewError(http.StatusBadRequest, "This is not a graph document: "+err.Error()+".")
	e.Err = err
	return e
}

func graphProblemsOrEmpty(p []designer.Problem) []designer.Problem {
	if p == nil {
		return []designer.Problem{}
	}
	return p
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

// parseVersionDefinition reads a published definition. Versions were valid when published, so a
// failure here is internal.
func parseVersionDefinition(v *store.Version) (*designer.Graph, error) {
	g, _, err := designer.Parse(v.Definition, graphLimits)
	if err != nil {
		return nil, fmt.Errorf("parse graph %s version %d: %w", v.GraphID, v.Version, err)
	}
	return g, nil
}

// graphProblemKey is one problem as a line of text: where, then what.
func graphProblemKey(p designer.Problem) string {
	var where []string
	if p.Node != "" {
		where = append(where, "node "+p.Node)
	}
	if p.Edge != nil {
		where = append(where, fmt.Sprintf("edge %d", *p.Edge+1))
	}
	if p.Field != "" {
		where = append(where, p.Field)
	}
	if p.Column > 0 {
		where = append(where, fmt.Sprintf("column %d", p.Column))
	}
	if len(where) == 0 {
		return p.Message
	}
	return strings.Join(where, ", ") + ": " + p.Message
}
