package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"trellis/designer"
	"trellis/engine"
)

// secretHoster is what the publish check needs to know of secrets bound to hosts (*store.DB
// implements it); nil hosts mean any host.
type secretHoster interface {
	SecretHosts(ctx context.Context, name string) ([]string, error)
}

// secretRef finds the secrets a config names, as secrets.NAME or secrets['NAME'].
var secretRef = regexp.MustCompile(`secrets(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])`)

// secretHostProblems refuses, at validation and publish, an http node whose url names its host
// as written and sends a secret bound to other hosts (issue 18); a host that depends on the
// run is checked when the request is sent (engine SecretHost).
func (a *Actions) secretHostProblems(ctx context.Context, g *designer.Graph) []designer.Problem {
	hs, ok := a.graphs.(secretHoster)
	if !ok {
		return nil
	}
	var out []designer.Problem
	for _, n := range g.Nodes {
		if n.Kind != designer.KindHTTP || len(n.Config) == 0 {
			continue
		}
		var c designer.HTTPConfig
		if json.Unmarshal(n.Config, &c) != nil {
			continue
		}
		host := literalHost(c.URL)
		if host == "" {
			continue
		}
		var names []string
		for _, m := range secretRef.FindAllStringSubmatch(string(n.Config), -1) {
			if name := m[1] + m[2]; !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			hosts, err := hs.SecretHosts(ctx, name)
			if err != nil || len(hosts) == 0 || engine.HostAllowed(hosts, host) {
				continue // a secret that is not set is the run's failure, as before
			}
			out = append(out, designer.Problem{Node: n.ID, Field: "config.url", Message: fmt.Sprintf(
				"sends secret %s to %s, but it may be sent only to %s", name, host, strings.Join(hosts, ", "))})
		}
	}
	return out
}

// literalHost is the host of a url template when it is written out, or "" when a template
// part decides it.
func literalHost(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	end := len(raw)
	if j := strings.IndexAny(raw[start:], "/?#"); j >= 0 {
		end = start + j
	}
	if end == start || strings.Contains(raw[:end], "{{") {
		return ""
	}
	u, err := url.Parse(raw[:end])
	if err != nil {
		return ""
	}
	return u.Hostname()
}
