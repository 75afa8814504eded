package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// httpKind calls an HTTP endpoint from an activity. The workflow passes templates and a
// scope without secrets; the activity resolves secrets.* and renders, so secret values
// never reach history.
type httpKind struct{}

const activityHTTP = "http"

func init() {
	registerKind(designer.KindHTTP, httpKind{})
	registerActivity(activityHTTP, func(d *Deps) any { return newHTTPActivity(d).run })
}

// httpRequest is the activity's input: the node's config as written and the part of the
// scope its templates read.
type httpRequest struct {
	RunID  string              `json:"run_id"`
	NodeID string              `json:"node_id"`
	Config designer.HTTPConfig `json:"config"`
	Scope  map[string]any      `json:"scope"`
}

// httpTemplates is an http config compiled.
type httpTemplates struct {
	method      *designer.Template
	url         *designer.Template
	headerNames []string
	headers     []*designer.Template
	queryNames  []string
	query       []*designer.Template
	body        *valueTree
	bodyIsText  bool
	expect      []statusRange
	refs        designer.Refs
}

type statusRange struct{ lo, hi int }

func (r statusRange) String() string {
	if r.lo == r.hi {
		return strconv.Itoa(r.lo)
	}
	return fmt.Sprintf("%dxx", r.lo/100)
}

// compileHTTP compiles a config; on error it names the field.
func compileHTTP(c designer.HTTPConfig) (*httpTemplates, string, error) {
	t := &httpTemplates{}
	var err error
	method := c.Method
	if method == "" {
		method = "GET"
	}
	if t.method, err = designer.CompileTemplate(method); err != nil {
		return nil, "config.method", err
	}
	if strings.TrimSpace(c.URL) == "" {
		return nil, "config.url", fmt.Errorf("url is missing")
	}
	if t.url, err = designer.CompileTemplate(c.URL); err != nil {
		return nil, "config.url", err
	}
	refs := []designer.Refs{t.method.Refs(), t.url.Refs()}
	for name := range c.Headers {
		t.headerNames = append(t.headerNames, name)
	}
	sort.Strings(t.headerNames)
	for _, name := range t.headerNames {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			return nil, "config.headers", fmt.Errorf("%q is not a header name", name)
		}
		h, err := designer.CompileTemplate(c.Headers[name])
		if err != nil {
			return nil, "config.headers." + name, err
		}
		t.headers = append(t.headers, h)
		refs = append(refs, h.Refs())
	}
	for name := range c.Query {
		t.queryNames = append(t.queryNames, name)
	}
	sort.Strings(t.queryNames)
	for _, name := range t.queryNames {
		if name == "" {
			return nil, "config.query", fmt.Errorf("a query parameter needs a name")
		}
		q, err := designer.CompileTemplate(c.Query[name])
		if err != nil {
			return nil, "config.query." + name, err
		}
		t.query = append(t.query, q)
		refs = append(refs, q.Refs())
	}
	if len(c.Body) > 0 && string(c.Body) != "null" {
		if t.body, err = compileValue(c.Body, false); err != nil {
			return nil, "config.body", err
		}
		t.bodyIsText = t.body.tpl != nil
		refs = append(refs, t.body.refs())
	}
	if t.expect, err = parseExpect(c.Expect); err != nil {
		return nil, "config.expect", err
	}
	t.refs = mergeRefs(refs...)
	return t, "", nil
}

// parseExpect reads status codes (numbers or digit strings) and ranges like "2xx".
func parseExpect(list []any) ([]statusRange, error) {
	if len(list) == 0 {
		return []statusRange{{200, 299}}, nil
	}
	out := make([]statusRange, 0, len(list))
	for _, item := range list {
		var code int
		switch v := item.(type) {
		case float64:
			code = int(v)
			if float64(code) != v {
				return nil, fmt.Errorf("%v is not a status code", v)
			}
		case json.Number:
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return nil, fmt.Errorf("%v is not a status code", v)
			}
			code = n
		case string:
			s := strings.ToLower(strings.TrimSpace(v))
			if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
				lo := int(s[0]-'0') * 100
				out = append(out, statusRange{lo, lo + 99})
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a status code or a range like \"2xx\"", v)
			}
			code = n
		default:
			return nil, fmt.Errorf("%v is not a status code or a range like \"2xx\"", item)
		}
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("%d is not a status code", code)
		}
		out = append(out, statusRange{code, code})
	}
	return out, nil
}

func (httpKind) compile(n *designer.Node, ps *problemList) any {
	return compileActivityConfig(n, ps, compileHTTP)
}

func (t *httpTemplates) references() designer.Refs { return t.refs }

func (httpKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: activity scheduled, started and completed, and a workflow task.
func (httpKind) historyEvents(*designer.Node, any) int { return 3 + workflowTaskEvents }

func (httpKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*activityConfig[designer.HTTPConfig])
	// The scope never holds secrets; the activity adds them.
	req := httpRequest{RunID: x.r.in.RunID, NodeID: x.node.ID, Config: c.config, Scope: x.scope(c.refs)}
	out, attempts, err := runActivity[any](ctx, x, activityHTTP, req)
	return nodeResult{Output: out, Attempts: attempts}, err
}
