package actions

import (
	"encoding/json"

	"trellis/designer"
	"trellis/engine"
)

// secretProblems refuses, at validation and publish, http nodes that transform or test a
// secret, or put one in the url's host (engine.HTTPSecretProblems): a secret may only be
// interpolated whole, so that redaction can find it wherever it lands.
func secretProblems(g *designer.Graph) []designer.Problem {
	var out []designer.Problem
	for _, n := range g.Nodes {
		if n.Kind != designer.KindHTTP || len(n.Config) == 0 {
			continue
		}
		var c designer.HTTPConfig
		if json.Unmarshal(n.Config, &c) != nil {
			continue // Validate reports a config that does not decode
		}
		if field, msg := engine.HTTPSecretProblems(c); msg != "" {
			out = append(out, designer.Problem{Node: n.ID, Field: field, Message: msg})
		}
	}
	return out
}
