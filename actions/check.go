package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"trellis/designer"
	"trellis/store"
)

// Checked is a graph document read and validated.
type Checked struct {
	Graph    *designer.Graph
	Problems []designer.Problem // never nil
	// Hash is the content hash when the document parsed without problems, else "".
	Hash string
}

// Check parses and validates a graph document for graph selfID ("" for none). The error is
// for input that is not a graph at all: TooLarge over the size limit, BadRequest otherwise.
func (a *Actions) Check(ctx context.Context, doc []byte, selfID string) (*Checked, error) {
	g, probs, err := designer.Parse(doc, GraphLimits)
	if errors.Is(err, designer.ErrTooLarge) {
		return nil, &Error{Kind: TooLarge, Message: sentence(err.Error()) + ".", Err: err}
	}
	if err != nil {
		return nil, &Error{Kind: BadRequest, Message: "This is not a graph document: " + err.Error() + ".", Err: err}
	}
	cd := &Checked{Graph: g}
	if len(probs) == 0 {
		if h, err := designer.Hash(g); err == nil {
			cd.Hash = h
		}
	}
	// As designer.ParseAndValidate does, but without parsing twice: Validate repeats some
	// of Parse's problems (the format).
	seen := make(map[string]bool, len(probs))
	for _, p := range probs {
		seen[ProblemText(p)] = true
	}
	for _, p := range designer.Validate(g, a.ValidateEnv(ctx, selfID)) {
		if !seen[ProblemText(p)] {
			probs = append(probs, p)
		}
	}
	probs = append(probs, secretProblems(g)...)
	probs = append(probs, a.secretHostProblems(ctx, g)...)
	if probs == nil {
		probs = []designer.Problem{}
	}
	cd.Problems = probs
	return cd, nil
}

// ValidateEnv is what validation needs to know about other graphs: which exist, and which
// subgraphs their drafts and latest versions use.
func (a *Actions) ValidateEnv(ctx context.Context, selfID string) designer.ValidateEnv {
	return designer.ValidateEnv{
		SelfID: selfID,
		GraphExists: func(id string) bool {
			if !store.ValidGraphID(id) {
				return false
			}
			_, err := a.graphs.GetGraph(ctx, id)
			// A store failure is not a problem of the graph; publishing fails on it anyway.
			return err == nil || !errors.Is(err, store.ErrNotFound)
		},
		SubgraphDeps: func(id string) []string { return a.SubgraphDeps(ctx, id) },
	}
}

// SubgraphDeps lists the graphs that id's draft and latest version run as subgraphs.
func (a *Actions) SubgraphDeps(ctx context.Context, id string) []string {
	if !store.ValidGraphID(id) {
		return nil
	}
	var out []string
	add := func(doc []byte) {
		for _, d := range designer.SubgraphRefs(doc) {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	if g, err := a.graphs.GetGraph(ctx, id); err == nil {
		add(g.Draft)
	}
	if v, err := a.graphs.LatestVersion(ctx, id); err == nil {
		add(v.Definition)
	}
	return out
}

// ParseVersion reads a published definition. Versions were valid when published, so a
// failure here is internal.
func ParseVersion(v *store.Version) (*designer.Graph, error) {
	g, _, err := designer.Parse(v.Definition, GraphLimits)
	if err != nil {
		return nil, fmt.Errorf("parse graph %s version %d: %w", v.GraphID, v.Version, err)
	}
	return g, nil
}

// ProblemText is one problem as a line of text: where, then what.
func ProblemText(p designer.Problem) string {
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

// sentence capitalises the first letter of msg, which the designer writes in ASCII.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}
