package designer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxIncludeSearch bounds how many graphs the include check visits.
const maxIncludeSearch = 10000

// includes checks the graph a subgraph, map or loop node runs: that it exists, is not this graph, and
// does not lead back to this graph (or round in a loop of its own) through its subgraphs.
func (v *validator) includes(s site, id string) { v.includesAt(s, "config.graph", id) }

// includesAt is includes for a graph named at field (an agent's graph tools name theirs in
// config.tools.N.graph).
func (v *validator) includesAt(s site, field, id string) {
	if v.env.SelfID != "" && id == v.env.SelfID {
		v.add(s, field, 0, "a graph cannot include itself")
		return
	}
	if v.env.GraphExists != nil && !v.env.GraphExists(id) {
		v.add(s, field, 0, fmt.Sprintf("unknown graph %q", id))
		return
	}
	if v.env.SubgraphDeps == nil {
		return
	}
	if v.deps == nil {
		v.deps = map[string][]string{}
	}
	if loop := includeLoop(id, v.env.SelfID, v.depsOf); loop != nil {
		if v.env.SelfID != "" && loop[0] == v.env.SelfID {
			v.add(s, field, 0, "graphs include each other: "+strings.Join(loop, " → "))
		} else {
			v.add(s, field, 0, fmt.Sprintf("graph %q includes itself: %s", loop[0], strings.Join(loop, " → ")))
		}
	}
}

// depsOf asks the environment once per graph and orders the answer, so that the search
// and its message are deterministic.
func (v *validator) depsOf(id string) []string {
	if d, ok := v.deps[id]; ok {
		return d
	}
	d := append([]string(nil), v.env.SubgraphDeps(id)...)
	sort.Strings(d)
	v.deps[id] = d
	return d
}

// includeLoop searches depth-first from start. It returns self → start → … → self when
// start leads back to self, or the loop it finds among other graphs, or nil.
func includeLoop(start, self string, deps func(string) []string) []string {
	path := []string{start}
	onPath := map[string]bool{start: true}
	done := map[string]bool{}
	visited := 0
	var walk func(id string) []string
	walk = func(id string) []string {
		if visited++; visited > maxIncludeSearch {
			return nil
		}
		for _, d := range deps(id) {
			if self != "" && d == self {
				return append(append([]string{self}, path...), self)
			}
			if onPath[d] {
				i := 0
				for path[i] != d {
					i++
				}
				return append(append([]string(nil), path[i:]...), d)
			}
			if done[d] {
				continue
			}
			path = append(path, d)
			onPath[d] = true
			if loop := walk(d); loop != nil {
				return loop
			}
			path = path[:len(path)-1]
			onPath[d] = false
			done[d] = true
		}
		return nil
	}
	return walk(start)
}

// ResolveSubgraphVersions pins every subgraph node, and every map and loop node with a graph
// body, whose version is "latest" or missing
// to the number latest gives, rewriting its config in place; publishing does this so that
// a published version never changes under its runs. A graph with no published version is
// a problem, and that node is left as it was.
func ResolveSubgraphVersions(g *Graph, latest func(graphID string) (int, bool)) []Problem {
	var probs []Problem
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind == KindAgent && len(n.Config) > 0 {
			probs = append(probs, resolveAgentTools(n, latest)...)
			continue
		}
		if !refersToGraph(n.Kind) || len(n.Config) == 0 {
			continue
		}
		cfg, err := parseJSON(n.Config)
		if err != nil || cfg.kind != jObject {
			continue // Validate reports it
		}
		graph := cfg.get("graph")
		if graph == nil || graph.kind != jString || graph.str == "" {
			continue
		}
		if v := cfg.get("version"); v != nil && !(v.kind == jNull || v.kind == jString && v.str == "latest") {
			continue
		}
		num, ok := latest(graph.str)
		if !ok || num < 1 {
			probs = append(probs, Problem{Node: n.ID, Field: "config.version",
				Message: fmt.Sprintf("graph %q has no published version to use", graph.str)})
			continue
		}
		n.Config = setMember(&cfg, "version", []byte(strconv.Itoa(num)))
	}
	return probs
}

// setMember writes an object with one member set (replacing it where it was, or added at
// the end), keeping the other members as written.
func setMember(obj *jval, key string, value json.RawMessage) json.RawMessage {
	b := []byte{'{'}
	done := false
	for i := range obj.kids {
		m := &obj.kids[i]
		if m.key == key {
			if done {
				continue
			}
			done = true
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, m.key)
		b = append(b, ':')
		if m.key == key {
			b = append(b, value...)
		} else {
			b = append(b, m.val.raw...)
		}
	}
	if !done {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, key)
		b = append(b, ':')
		b = append(b, value...)
	}
	return append(b, '}')
}
