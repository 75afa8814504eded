package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// mapBodyPath is where a map's one-step body is in a node (graph-format.md, map).
const mapBodyPath = "config.node"

// mapGraphFields are a map's fields that belong to a graph body; the form shows them inside
// the body, in place of the step's fields.
var mapGraphFields = []string{"graph", "version", "input"}

// mapBodyField is a map's body in the form. The mode comes from the node: a graph body when
// config.graph is there (even empty, as the switch leaves it), else one step. A step's kind is
// picked from designer.InlineBodyKinds and its fields come from the kind catalogue, as a top
// level node's do, with paths under config.node. A body that is not an object is shown as
// JSON, so that nothing the user wrote is hidden.
func mapBodyField(spec designer.KindSpec, raw json.RawMessage) templates.NodeField {
	body := nodeLookupRaw(raw, mapBodyPath)
	hasGraph := nodeLookupRaw(raw, "config.graph") != nil
	if body != nil && !isJSONObject(body) {
		f := nodeFormField(designer.FieldSpec{Label: "Step for each item", Type: designer.FieldJSON,
			Help: "The step run for each item, as JSON: {kind, config}."}, mapBodyPath, body)
		f.KeepText = true
		return f
	}
	ff := templates.NodeField{
		Name: mapBodyPath, Label: "Each item runs", Control: templates.NodeControlBody, DataType: "body",
		Help: "One step, whose texts may read item (the item) and index (its place, from 0); or a published graph, run for each item as a run of its own.",
		Body: &templates.MapBodyProps{Mode: templates.MapBodyNode},
	}
	var graphFields []templates.NodeField
	for _, f := range spec.Fields {
		if slices.Contains(mapGraphFields, f.Name) {
			path := "config." + f.Name
			g := nodeFormField(f, path, nodeLookupRaw(raw, path))
			g.KeepEmpty = f.Name == "graph"
			graphFields = append(graphFields, g)
		}
	}
	if hasGraph && body == nil {
		ff.Body.Mode, ff.Body.Graph = templates.MapBodyGraph, graphFields
		return ff
	}
	ff.Body.Node = inlineBodyFields(body)
	if hasGraph {
		// Both bodies: the designer says so; the graph's fields stay in view to be cleared.
		ff.Body.Node = append(ff.Body.Node, graphFields...)
	}
	return ff
}

// inlineBodyFields are the kind picker of a map's step, then that kind's settings and, for
// kinds that do work, its retries and timeout.
func inlineBodyFields(body json.RawMessage) []templates.NodeField {
	var head struct {
		Kind json.RawMessage `json:"kind"`
	}
	_ = json.Unmarshal(body, &head) // body is an object or nil here
	kindRaw := head.Kind
	kind, _ := nodeRawString(kindRaw)
	picker := templates.NodeField{
		Name: mapBodyPath + ".kind", Label: "Kind of step", Control: templates.NodeControlSelect, DataType: "body_kind",
		Required: true, Value: kind, Options: []string{""}, OptionNames: []string{"Choose a kind…"},
		Help: "Its settings follow once chosen. For more than one step, run a graph for each item instead.",
	}
	for _, name := range designer.InlineBodyKinds {
		spec, _ := designer.KindByName(name)
		picker.Options = append(picker.Options, name)
		picker.OptionNames = append(picker.OptionNames, spec.Label)
	}
	if kind != "" && !slices.Contains(picker.Options, kind) {
		picker.Options = append(picker.Options, kind) // keep a kind the designer refuses visible
		picker.OptionNames = append(picker.OptionNames, kind)
	}
	out := []templates.NodeField{picker}
	spec, ok := designer.KindByName(kind)
	if !ok || !slices.Contains(designer.InlineBodyKinds, kind) {
		return out
	}
	for _, f := range spec.Fields {
		path := mapBodyPath + ".config." + f.Name
		if kind == designer.KindTransform && f.Name == "value" {
			out = append(out, nodeValueField(f, path, nodeLookupRaw(body, "config."+f.Name)))
			continue
		}
		out = append(out, nodeFormField(f, path, nodeLookupRaw(body, "config."+f.Name)))
	}
	if !spec.DoesWork {
		return out
	}
	for _, f := range designer.CommonFields {
		if f.Name == "timeout" || strings.HasPrefix(f.Name, "retry.") {
			out = append(out, nodeFormField(f, mapBodyPath+"."+f.Name, nodeLookupRaw(body, f.Name)))
		}
	}
	return out
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// Starter body graphs, as the "new body graph" action creates them: a map's gets each item
// as its input (the map's input expression defaults to item); a loop's gets {state, iteration}
// and hands on the state unchanged until it is drawn (graph-format.md, Repeating work).
const (
	mapBodyStarter = `{"format":"` + designer.Format + `","name":"","nodes":[{"id":"each","kind":"transform","position":{"x":0,"y":0},` +
		`"config":{"value":"input"}}],"edges":[],"output":"nodes.each.output"}`
	loopBodyStarter = `{"format":"` + designer.Format + `","name":"",` +
		`"input":{"type":"object","required":["iteration"],"properties":{"state":{"description":"The last round's result; the first state in round 1."},` +
		`"iteration":{"type":"integer","minimum":1,"description":"This round's number, from 1."}}},` +
		`"nodes":[{"id":"round","kind":"transform","position":{"x":0,"y":0},"config":{"value":"input.state"}}],"edges":[],"output":"nodes.round.output"}`
)

// bodyGraphStarters offer a new body graph beside the graph field of a loop and of a map's
// graph body.
func bodyGraphStarters(p *templates.NodeFormProps) {
	set := func(list []templates.NodeField, def, name string) {
		for i := range list {
			if list[i].Name == "config.graph" && list[i].DataType == string(designer.FieldString) {
				list[i].NewGraph, list[i].NewGraphName = def, name
			}
		}
	}
	switch p.Kind {
	case designer.KindLoop:
		set(p.Config, loopBodyStarter, "one round")
	case designer.KindMap:
		for i := range p.Config {
			if b := p.Config[i].Body; b != nil {
				set(b.Graph, mapBodyStarter, "each item")
			}
		}
	}
}

// graphRefs sums up, under each graph field of the form (a subgraph's, a loop's, a map's graph
// body), the graph it names: its name and the version that runs, with links to open it.
func (s *Server) graphRefs(ctx context.Context, p *templates.NodeFormProps) error {
	lists := []*[]templates.NodeField{&p.Config}
	for i := range p.Config {
		if b := p.Config[i].Body; b != nil {
			lists = append(lists, &b.Graph, &b.Node)
		}
	}
	for _, list := range lists {
		version := ""
		for _, f := range *list {
			if f.Name == "config.version" {
				version = f.Value
			}
		}
		for i := range *list {
			f := &(*list)[i]
			if f.Name != "config.graph" || f.Value == "" || f.DataType != string(designer.FieldString) {
				continue
			}
			ref, err := s.graphRef(ctx, f.Value, version)
			if err != nil {
				return err
			}
			f.Graph = ref
		}
	}
	return nil
}

// graphRef describes graph id at version ("", "latest" or a number) for the form.
func (s *Server) graphRef(ctx context.Context, id, version string) (*templates.GraphRef, error) {
	if !store.ValidGraphID(id) {
		return &templates.GraphRef{Note: "No graph has this id."}, nil
	}
	g, err := s.deps.Graphs.GetGraph(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return &templates.GraphRef{Note: "No graph has this id."}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("graph %s named in a node: %w", id, err)
	}
	ref := &templates.GraphRef{Name: g.Name, URL: "/graphs/" + id, EditURL: "/graphs/" + id + "/edit"}
	n, numErr := strconv.Atoi(version)
	switch {
	case g.LatestVersion == 0:
		ref.Version = "not published yet"
	case numErr != nil:
		ref.Version = fmt.Sprintf("latest (version %d now)", g.LatestVersion)
	case n < 1 || n > g.LatestVersion:
		ref.Version = fmt.Sprintf("has no version %d (the latest is %d)", n, g.LatestVersion)
	default:
		ref.Version = fmt.Sprintf("version %d", n)
		ref.URL = fmt.Sprintf("/graphs/%s/versions/%d", id, n)
	}
	return ref, nil
}
