package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"trellis/designer"
	"trellis/store"
)

// PublishRequest asks to publish a graph's draft as its next version.
type PublishRequest struct {
	GraphID string
	Note    string
	// Revision, when not 0, must be the current draft revision: publish what you saw.
	Revision int64
	Author   string
}

// Publish validates the draft, pins its subgraphs' "latest" to version numbers, and stores
// it as the next version. Refusals: NotFound for an unknown graph; Conflict for a stale
// revision or a draft identical to the latest version; Invalid with the Graph problems for
// a draft that cannot be published.
func (a *Actions) Publish(ctx context.Context, req PublishRequest) (*store.Version, error) {
	if !store.ValidGraphID(req.GraphID) {
		return nil, refusef(NotFound, "There is no graph %q.", req.GraphID)
	}
	g, err := a.graphs.GetGraph(ctx, req.GraphID)
	if err != nil {
		return nil, err
	}
	if req.Revision != 0 && req.Revision != g.DraftRevision {
		return nil, refusef(Conflict, "The draft changed since you opened it (it is at revision %d, saved by %s); reload to see it before publishing.",
			g.DraftRevision, g.DraftUpdatedBy)
	}
	def, hash, err := a.publishable(ctx, g)
	if err != nil {
		return nil, err
	}
	v, err := a.graphs.PublishVersion(ctx, g.ID, def, hash, strings.TrimSpace(req.Note), req.Author)
	if err != nil {
		return nil, err
	}
	a.log.Info("graph published", slog.String("graph", g.ID), slog.Int("version", v.Version), slog.String("by", req.Author))
	return v, nil
}

// publishable is the definition a draft publishes as, and its hash, or why it cannot be.
func (a *Actions) publishable(ctx context.Context, g *store.Graph) (json.RawMessage, string, error) {
	cd, err := a.Check(ctx, g.Draft, g.ID)
	if err != nil {
		return nil, "", &Error{Kind: Invalid, Message: "The draft cannot be published: " + err.(*Error).Message, Err: err}
	}
	if n := len(cd.Problems); n > 0 {
		noun := "problems"
		if n == 1 {
			noun = "problem"
		}
		return nil, "", &Error{Kind: Invalid, Message: fmt.Sprintf("The draft has %d %s; fix them before publishing.", n, noun), Graph: cd.Problems}
	}
	pinned, hash, probs, err := a.Pin(ctx, cd.Graph)
	if err != nil {
		return nil, "", fmt.Errorf("publish graph %s: %w", g.ID, err)
	}
	if len(probs) > 0 {
		return nil, "", &Error{Kind: Invalid, Message: "A subgraph has no published version to pin.", Graph: probs}
	}
	if pinned, hash, err = a.pinMCP(ctx, pinned, hash); err != nil {
		return nil, "", err
	}
	if latest, err := a.graphs.LatestVersion(ctx, g.ID); err == nil && latest.Hash == hash {
		return nil, "", refusef(Conflict, "%s Edit the draft to publish a new version.", NoChangesSince(latest.Version))
	}
	// The version is the draft as written (its key order is the start-run form's order),
	// unless pinning subgraph versions changed it.
	if hash == cd.Hash {
		return g.Draft, hash, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(pinned); err != nil {
		return nil, "", fmt.Errorf("publish graph %s: %w", g.ID, err)
	}
	return bytes.TrimSpace(buf.Bytes()), hash, nil
}

// Pin is the draft as it would be published: a copy with its subgraphs' "latest" pinned to
// version numbers, and its hash. Comparing that hash with the latest version's tells whether
// publishing would add anything. Problems name subgraphs with no version to pin.
func (a *Actions) Pin(ctx context.Context, draft *designer.Graph) (*designer.Graph, string, []designer.Problem, error) {
	cp := *draft
	cp.Nodes = slices.Clone(draft.Nodes)
	if probs := designer.ResolveSubgraphVersions(&cp, a.latestVersion(ctx)); len(probs) > 0 {
		return nil, "", probs, nil
	}
	hash, err := designer.Hash(&cp)
	if err != nil {
		return nil, "", nil, err
	}
	return &cp, hash, nil, nil
}

// SetMCPTools gives publishing the tool lists of the configured MCP servers, which it pins
// in the agents' MCP tools; without it a draft with MCP tools cannot be published.
func (a *Actions) SetMCPTools(f func(ctx context.Context, server string) ([]designer.MCPToolInfo, error)) {
	a.mcpTools = f
}

// pinMCP pins the MCP tools' parameters as their servers list them now, and hashes again.
// A server that cannot be asked or lacks a tool is Invalid, naming it.
func (a *Actions) pinMCP(ctx context.Context, g *designer.Graph, hash string) (*designer.Graph, string, error) {
	if !designer.HasMCPTools(g) {
		return g, hash, nil
	}
	list := func(server string) ([]designer.MCPToolInfo, error) {
		if a.mcpTools == nil {
			return nil, fmt.Errorf("this server cannot reach MCP servers")
		}
		return a.mcpTools(ctx, server)
	}
	if probs := designer.PinMCPTools(g, list); len(probs) > 0 {
		return nil, "", &Error{Kind: Invalid, Message: "An MCP tool could not be pinned: " + probs[0].Message, Graph: probs}
	}
	hash, err := designer.Hash(g)
	if err != nil {
		return nil, "", err
	}
	return g, hash, nil
}

// latestVersion is the number of a graph's latest version, as ResolveSubgraphVersions asks.
func (a *Actions) latestVersion(ctx context.Context) func(id string) (int, bool) {
	return func(id string) (int, bool) {
		v, err := a.graphs.LatestVersion(ctx, id)
		if err != nil {
			return 0, false
		}
		return v.Version, true
	}
}

// NoChangesSince is what the overview and a refused publish say of a draft that equals the
// latest version.
func NoChangesSince(version int) string {
	return fmt.Sprintf("No changes since version %d: the draft is identical to it.", version)
}
