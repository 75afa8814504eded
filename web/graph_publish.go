package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
)

type graphPublishRequest struct {
	Note string `json:"note"`
	// Revision, when given, must be the current draft revision: publish what you saw.
	Revision int64 `json:"revision"`
}

type graphPublishResponse struct {
	Version   int       `json:"version"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
}

// graphPublishDraft validates the draft, pins its subgraphs' "latest" to version numbers, and stores
// it as the next version. Refusals are *Error: 422 with problems for an invalid draft, 409
// for a stale revision or a draft identical to the latest version.
func (s *Server) graphPublishDraft(ctx context.Context, g *store.Graph, note, author string, revision int64) (*store.Version, error) {
	if revision != 0 && revision != g.DraftRevision {
		return nil, NewError(http.StatusConflict, fmt.Sprintf(
			"The draft changed since you opened it (it is at revision %d, saved by %s); reload to see it before publishing.",
			g.DraftRevision, g.DraftUpdatedBy))
	}
	cd, err := s.checkGraphDoc(ctx, g.Draft, g.ID)
	if err != nil {
		e := NewError(http.StatusUnprocessableEntity, "The draft cannot be published: "+AsError(err).Message)
		e.Err = err
		return nil, e
	}
	if len(cd.Problems) > 0 {
		return nil, NewError(http.StatusUnprocessableEntity,
			fmt.Sprintf("The draft has %s; fix them before publishing.", graphPlural(len(cd.Problems), "problem"))).WithProblems(cd.Problems)
	}
	pinned, hash, probs, err := s.pinDraft(ctx, cd.Graph)
	if err != nil {
		return nil, fmt.Errorf("publish graph %s: %w", g.ID, err)
	}
	if len(probs) > 0 {
		return nil, NewError(http.StatusUnprocessableEntity, "A subgraph has no published version to pin.").WithProblems(probs)
	}
	if latest, err := s.deps.Graphs.LatestVersion(ctx, g.ID); err == nil && latest.Hash == hash {
		return nil, NewError(http.StatusConflict, noChangesSince(latest.Version)+" Edit the draft to publish a new version.")
	}
	// The version is the draft as written (its key order is the start-run form's order),
	// unless pinning subgraph versions changed it.
	def := g.Draft
	if hash != cd.Hash {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(pinned); err != nil {
			return nil, fmt.Errorf("publish graph %s: %w", g.ID, err)
		}
		def = bytes.TrimSpace(buf.Bytes())
	}
	v, err := s.deps.Graphs.PublishVersion(ctx, g.ID, def, hash, strings.TrimSpace(note), author)
	if err != nil {
		return nil, err
	}
	s.log.Info("graph published", slog.String("graph", g.ID), slog.Int("version", v.Version), slog.String("by", author))
	return v, nil
}

// pinDraft is the draft as it would be published: a copy with its subgraphs' "latest" pinned
// to version numbers, and its hash. Comparing that hash with the latest version's tells
// whether publishing would add anything. Problems name subgraphs with no version to pin.
func (s *Server) pinDraft(ctx context.Context, draft *designer.Graph) (*designer.Graph, string, []designer.Problem, error) {
	cp := *draft
	cp.Nodes = slices.Clone(draft.Nodes)
	latest := func(id string) (int, bool) {
		v, err := s.deps.Graphs.LatestVersion(ctx, id)
		if err != nil {
			return 0, false
		}
		return v.Version, true
	}
	if probs := designer.ResolveSubgraphVersions(&cp, latest); len(probs) > 0 {
		return nil, "", probs, nil
	}
	hash, err := designer.Hash(&cp)
	if err != nil {
		return nil, "", nil, err
	}
	return &cp, hash, nil, nil
}

// noChangesSince is what the overview and a refused publish say of a draft that equals the
// latest version.
func noChangesSince(version int) string {
	return fmt.Sprintf("No changes since version %d: the draft is identical to it.", version)
}

// graphPublishAPI answers POST /api/v1/graphs/{id}/versions {note}: 201 {version}, or 422
// with the draft's problems.
func (s *Server) graphPublishAPI(c echo.Context) error {
	var req graphPublishRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	v, err := s.graphPublishDraft(c.Request().Context(), g, req.Note, graphActor(c), req.Revision)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/graphs/%s/versions/%d", g.ID, v.Version))
	return c.JSON(http.StatusCreated, graphPublishResponse{Version: v.Version, Hash: v.Hash, CreatedAt: v.CreatedAt})
}

// graphPublish is the overview's publish form: it goes back to the overview, with the
// refusal and its problems shown when the draft cannot be published.
func (s *Server) graphPublish(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	note := c.FormValue("note")
	var rev int64
	if r := c.FormValue("revision"); r != "" {
		if rev, err = strconv.ParseInt(r, 10, 64); err != nil {
			return NewError(http.StatusBadRequest, "The form's draft revision is not a number.")
		}
	}
	v, err := s.graphPublishDraft(c.Request().Context(), g, note, graphActor(c), rev)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s?published=%d", g.ID, v.Version))
	}
	ae := AsError(err)
	if ae.Status >= 500 {
		return err
	}
	p, perr := s.graphOverviewProps(c, g, true)
	if perr != nil {
		return perr
	}
	p.Publish.Note = note
	p.Publish.Error = ae.Message
	probs, _ := ae.Problems.([]designer.Problem)
	p.Publish.Problems = graphProblemRows(nil, probs)
	return s.renderGraphOverview(c, ae.Status, p)
}
