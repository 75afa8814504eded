package designer

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// exprSite is where an expression or template sits, and what it may read.
type exprSite struct {
	site
	field   string
	secrets bool     // secrets.NAME is allowed here
	self    string   // the id of the node it belongs to, if any
	reads   []string // names it may read besides input, nodes and run (item, index; state, iteration)
}

func (v *validator) expression(es exprSite, src string) {
	r := v.exprs.expr(src)
	if r.err != nil {
		v.add(es.site, es.field, r.err.Column, r.err.Message)
		return
	}
	v.refs(es, src, 0, r.refs)
}

func (v *validator) template(es exprSite, src string) *checkedTemplate {
	t := v.exprs.template(src)
	if t.err != nil {
		v.add(es.site, es.field, t.err.Column, t.err.Message)
		return t
	}
	for _, p := range t.parts {
		v.refs(es, p.src, p.offset, p.refs)
	}
	return t
}

// refs checks what an expression reads; offset is where src starts in the field's text.
func (v *validator) refs(es exprSite, src string, offset int, r Refs) {
	col := func(name string) int {
		if c := refColumn(src, name); c > 0 {
			return offset + c
		}
		return 0
	}
	for _, root := range r.Roots {
		switch {
		case root == RootInput || root == RootNodes || root == RootRun || contains(es.reads, root):
		case root == RootSecrets:
			if !es.secrets {
				v.add(es.site, es.field, col(root), "secrets can be used only in an http node's url, query, headers and body")
			}
		case readsOnlyIn(root) != "":
			v.add(es.site, es.field, col(root), readsOnlyIn(root))
		default:
			readable := append([]string{"input", "nodes", "run"}, es.reads...)
			if es.secrets {
				readable = append(readable, "secrets")
			}
			last := len(readable) - 1
			v.add(es.site, es.field, col(root), fmt.Sprintf("unknown name %q; expressions can read %s and %s",
				root, strings.Join(readable[:last], ", "), readable[last]))
		}
	}
	for _, id := range r.Nodes {
		c := col(RootNodes + "." + id)
		if c == 0 {
			c = col(id)
		}
		if _, ok := v.ids[id]; !ok {
			v.add(es.site, es.field, c, fmt.Sprintf("unknown node %q", id))
		} else if id == es.self {
			v.add(es.site, es.field, c, fmt.Sprintf("node %q reads its own result, which is never there while it runs", id))
		}
	}
}

// configCheck checks one node's config against its kind's catalogue entry.
type configCheck struct {
	v     *validator
	s     site
	n     *Node
	spec  *KindSpec
	cfg   jval
	reads []string // names every expression of this config may read (item, index in a map body)
}

func (c *configCheck) add(field, msg string) { c.v.add(c.s, field, 0, msg) }

func (c *configCheck) exprSite(field string, secrets bool) exprSite {
	return exprSite{site: c.s, field: field, secrets: secrets, self: c.n.ID, reads: c.reads}
}

func (v *validator) config(s site, n *Node, spec *KindSpec) { v.configIn(s, n, spec, nil) }

// configIn checks a config whose expressions may also read the names in reads.
func (v *validator) configIn(s site, n *Node, spec *KindSpec, reads []string) {
	c := &configCheck{v: v, s: s, n: n, spec: spec, cfg: jval{kind: jObject}, reads: reads}
	if len(n.Config) > 0 {
		parsed, err := parseJSON(n.Config)
		if err != nil {
			c.add("config", "config is not valid JSON: "+err.Error())
			return
		}
		switch parsed.kind {
		case jNull:
		case jObject:
			c.cfg = parsed
		default:
			c.add("config", fmt.Sprintf("config must be an object, not %s", parsed.kind))
			return
		}
	}
	c.unknownFields(&c.cfg, "")
	badParent := map[string]bool{}
	for i := range spec.Fields {
		f := &spec.Fields[i]
		val := c.cfg.get(f.Name)
		if dot := strings.IndexByte(f.Name, '.'); dot >= 0 {
			parent := f.Name[:dot]
			pv := c.cfg.get(parent)
			val = nil
			if pv != nil && pv.kind == jObject {
				val = pv.get(f.Name[dot+1:])
			} else if pv != nil && pv.kind != jNull && !badParent[parent] {
				badParent[parent] = true
				c.add("config."+parent, fmt.Sprintf("%s must be an object, not %s", parent, pv.kind))
			}
		}
		if val == nil || val.kind == jNull {
			if f.Required {
				c.add(configPath(spec, i), f.Name+" is required")
			}
			continue
		}
		c.value(f, configPath(spec, i), val)
	}
	switch n.Kind {
	case KindTransform:
		if val := c.cfg.get("value"); val != nil {
			c.valueTemplates("config.value", val, false, true)
		}
	case KindHTTP:
		c.http()
	case KindLLM:
		c.llm()
	case KindAgent:
		c.agent()
	case KindApproval:
		c.approval()
	case KindWait:
		c.wait()
	case KindMap:
		c.mapBody()
	}
	c.bounds()
}

// configPaths holds "config.<name>" for every catalogued field, so that checking a
// config does not build the same strings again for each node.
var configPaths = func() [][]string {
	out := make([][]string, len(kinds))
	for k, spec := range kinds {
		for _, f := range spec.Fields {
			out[k] = append(out[k], "config."+f.Name)
		}
	}
	return out
}()

func configPath(spec *KindSpec, field int) string {
	return configPaths[kindIndex[spec.Name]][field]
}

// unknownFields reports config members the kind does not have; prefix is "" or a parent
// object's name followed by a dot.
func (c *configCheck) unknownFields(obj *jval, prefix string) {
	for i := range obj.kids {
		key := obj.kids[i].key
		name := prefix + key
		known, parent := false, false
		for _, f := range c.spec.Fields {
			if f.Name == name {
				known = true
			} else if strings.HasPrefix(f.Name, name+".") {
				known, parent = true, true
			}
		}
		if !known {
			c.add("config."+name, fmt.Sprintf("unknown field %q for a%s %s node; expected one of %s",
				name, articleN(c.spec.Name), c.spec.Name, strings.Join(topFieldNames(c.spec, prefix), ", ")))
			continue
		}
		for j := 0; j < i; j++ {
			if obj.kids[j].key == key {
				c.add("config."+name, fmt.Sprintf("field %q appears more than once; the last one is used", name))
				break
			}
		}
		if parent && obj.kids[i].val.kind == jObject {
			c.unknownFields(&obj.kids[i].val, name+".")
		}
	}
}

func articleN(kind string) string {
	if kind == KindLLM || kind == KindHTTP || kind == KindApproval || kind == KindAgent {
		return "n"
	}
	return ""
}

func topFieldNames(spec *KindSpec, prefix string) []string {
	var out []string
	for _, f := range spec.Fields {
		if !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		name := f.Name[len(prefix):]
		if dot := strings.IndexByte(name, '.'); dot >= 0 {
			name = name[:dot]
		}
		if len(out) == 0 || out[len(out)-1] != name {
			out = append(out, name)
		}
	}
	return out
}

// value checks a present, non-null config value by its field type.
func (c *configCheck) value(f *FieldSpec, path string, val *jval) {
	name := f.Name
	wrong := func(want string) { c.add(path, fmt.Sprintf("%s must be %s, not %s", name, want, val.kind)) }
	stringValue := func() (string, bool) {
		if val.kind != jString {
			wrong("text")
			return "", false
		}
		// "" is as good as leaving the field out; blanks are only when it is required.
		if val.str == "" || f.Required && strings.TrimSpace(val.str) == "" {
			if f.Required {
				c.add(path, name+" is required")
			}
			return "", false
		}
		return val.str, true
	}
	switch f.Type {
	case FieldString:
		stringValue()
	case FieldTemplate:
		if s, ok := stringValue(); ok {
			c.v.template(c.exprSite(path, f.Secrets), s)
		}
	case FieldExpression:
		if s, ok := stringValue(); ok {
			es := c.exprSite(path, f.Secrets)
			es.reads = append(es.reads[:len(es.reads):len(es.reads)], f.Reads...)
			c.v.expression(es, s)
		}
	case FieldInlineNode:
		if val.kind != jObject {
			wrong(`an object such as {"kind": "llm", "config": {...}}`)
		}
	case FieldDuration:
		if s, ok := stringValue(); ok {
			c.v.duration(c.s, path, s)
		}
	case FieldEnum:
		if s, ok := stringValue(); ok && !contains(f.Options, s) {
			c.add(path, fmt.Sprintf("%s must be one of %s, not %q", name, strings.Join(f.Options, ", "), s))
		}
	case FieldNumber:
		if val.kind != jNumber {
			wrong("a number")
		} else if _, ok := val.float(); !ok {
			c.add(path, name+" is out of range")
		}
	case FieldInteger:
		if _, ok := jsonInt(val); !ok {
			if val.kind == jNumber {
				c.add(path, name+" must be a whole number")
			} else {
				wrong("a whole number")
			}
		}
	case FieldBoolean:
		if val.kind != jBool {
			wrong("true or false")
		}
	case FieldSchema:
		c.v.schemaValue(c.s, path, val, false)
	case FieldStringMap, FieldStringList:
		c.textsValue(f, path, val, wrong)
	case FieldStatusList:
		c.statusList(path, val)
	case FieldVersion:
		c.versionValue(name, path, val)
	case FieldJSON:
		// Kind-specific: see valueTemplates.
	}
}

// textsValue checks an object of templates (FieldStringMap) or a list of texts.
func (c *configCheck) textsValue(f *FieldSpec, path string, val *jval, wrong func(string)) {
	if f.Type == FieldStringList {
		if val.kind != jArray {
			wrong("a list of texts")
			return
		}
		for i := range val.kids {
			if val.kids[i].val.kind != jString {
				c.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d] must be text, not %s", f.Name, i, val.kids[i].val.kind))
			}
		}
		return
	}
	if val.kind != jObject {
		wrong("an object of texts")
		return
	}
	for i := range val.kids {
		m := &val.kids[i]
		at := path + "." + m.key
		if m.val.kind != jString {
			c.add(at, fmt.Sprintf("%s must be text, not %s", m.key, m.val.kind))
			continue
		}
		c.v.template(c.exprSite(at, f.Secrets), m.val.str)
	}
}

// versionValue checks a version number or "latest".
func (c *configCheck) versionValue(name, path string, val *jval) {
	switch {
	case val.kind == jString && val.str == "latest":
	case val.kind == jNumber:
		if n, ok := jsonInt(val); !ok || n < 1 {
			c.add(path, name+` must be a version number (1 or more) or "latest"`)
		}
	default:
		c.add(path, fmt.Sprintf(`%s must be a version number or "latest", not %s`, name, describe(val)))
	}
}

func describe(v *jval) string {
	if v.kind == jString {
		return strconv.Quote(v.str)
	}
	return v.kind.String()
}

// jsonInt is the value of a whole number.
func jsonInt(v *jval) (int64, bool) {
	if v.kind != jNumber {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(v.raw), 10, 64); err == nil {
		return n, true
	}
	f, ok := v.float()
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func (c *configCheck) statusList(path string, val *jval) {
	if val.kind != jArray {
		c.add(path, fmt.Sprintf("expect must be a list of statuses such as 200 or \"2xx\", not %s", val.kind))
		return
	}
	if len(val.kids) == 0 {
		c.add(path, `expect must list at least one status; leave it out to accept "2xx"`)
	}
	for i := range val.kids {
		e := &val.kids[i].val
		if !validStatus(e) {
			c.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf(`%s is not a status; write a code from 100 to 599 such as 200, or a range such as "2xx"`, e.raw))
		}
	}
}

func validStatus(e *jval) bool {
	switch e.kind {
	case jNumber:
		n, ok := jsonInt(e)
		return ok && n >= 100 && n <= 599
	case jString:
		s := e.str
		if len(s) != 3 || s[0] < '1' || s[0] > '5' {
			return false
		}
		if s[1:] == "xx" {
			return true
		}
		return s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
	}
	return false
}

// valueTemplates checks a JSON value whose strings are templates; a string at the top is
// an expression when topExpr is set (transform) and a template otherwise (http body).
func (c *configCheck) valueTemplates(path string, val *jval, secrets, topExpr bool) {
	if val.kind == jString && topExpr {
		c.v.expression(c.exprSite(path, secrets), val.str)
		return
	}
	switch val.kind {
	case jString:
		c.v.template(c.exprSite(path, secrets), val.str)
	case jArray:
		for i := range val.kids {
			c.valueTemplates(fmt.Sprintf("%s[%d]", path, i), &val.kids[i].val, secrets, false)
		}
	case jObject:
		for i := range val.kids {
			c.valueTemplates(path+"."+val.kids[i].key, &val.kids[i].val, secrets, false)
		}
	}
}

func (c *configCheck) str(name string) (string, bool) {
	v := c.cfg.get(name)
	if v == nil || v.kind != jString {
		return "", false
	}
	return v.str, true
}

func (c *configCheck) http() {
	if url, ok := c.str("url"); ok && strings.TrimSpace(url) != "" {
		prefix := url
		if i := strings.Index(url, "{{"); i >= 0 {
			prefix = url[:i]
		}
		lower := strings.ToLower(prefix)
		literal := !strings.Contains(url, "{{")
		if (literal || strings.Contains(prefix, "://")) && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			c.add("config.url", "url must start with http:// or https://")
		} else if literal && len(strings.TrimPrefix(strings.TrimPrefix(lower, "https://"), "http://")) == 0 {
			c.add("config.url", "url has no host")
		}
	}
	if h := c.cfg.get("headers"); h != nil && h.kind == jObject {
		for _, m := range h.kids {
			if !validHeaderName(m.key) {
				c.add("config.headers."+m.key, fmt.Sprintf("%q is not a valid header name", m.key))
			}
		}
	}
	if q := c.cfg.get("query"); q != nil && q.kind == jObject {
		for _, m := range q.kids {
			if m.key == "" {
				c.add("config.query", "a query parameter needs a name")
			}
		}
	}
	if b := c.cfg.get("body"); b != nil && b.kind != jNull {
		c.valueTemplates("config.body", b, true, false)
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0 {
			continue
		}
		return false
	}
	return true
}

func (c *configCheck) llm() {
	if t := c.cfg.get("temperature"); t != nil && t.kind == jNumber {
		if f, ok := t.float(); ok && (f < 0 || f > 2) {
			c.add("config.temperature", "temperature must be from 0 to 2")
		}
	}
	if m := c.cfg.get("max_tokens"); m != nil {
		if n, ok := jsonInt(m); ok && (n < 1 || n > 1_000_000) {
			c.add("config.max_tokens", "max_tokens must be from 1 to 1000000")
		}
	}
}

// validAssignee accepts user:NAME and group:NAME; a template is checked when it runs.
func validAssignee(s string) bool {
	if strings.Contains(s, "{{") {
		return true
	}
	name, ok := strings.CutPrefix(s, "user:")
	if !ok {
		name, ok = strings.CutPrefix(s, "group:")
	}
	return ok && name != "" && !strings.ContainsAny(name, " \t\r\n")
}

func (c *configCheck) approval() {
	if f := c.cfg.get("form"); f != nil && f.kind == jObject {
		if t := f.get("type"); t != nil && t.kind == jString && t.str != "object" {
			c.add("config.form", `the form schema must describe an object ("type": "object")`)
		}
	}
	if a, ok := c.str("assignee"); ok && strings.TrimSpace(a) != "" && !validAssignee(a) {
		c.add("config.assignee", fmt.Sprintf("assignee %q must be user:NAME or group:NAME, such as group:reviewers", a))
	}
	outcomes := DefaultOutcomes
	if c.s.prefix == "" { // an inline body's outcomes are not the map node's ports
		defer func() { c.v.outcomes[c.s.node] = outcomes }()
	}
	if o := c.cfg.get("outcomes"); o != nil && o.kind == jArray {
		if len(o.kids) == 0 {
			c.add("config.outcomes", "outcomes is empty; list at least one, or leave it out for approve and reject")
		} else {
			outcomes = nil
		}
		for i := range o.kids {
			e := &o.kids[i].val
			if e.kind != jString {
				continue // reported by value
			}
			switch {
			case !validID(e.str):
				c.add(fmt.Sprintf("config.outcomes[%d]", i), fmt.Sprintf("outcome %q %s", e.str, idRule))
			case contains(outcomes, e.str):
				c.add(fmt.Sprintf("config.outcomes[%d]", i), fmt.Sprintf("outcome %q is listed twice", e.str))
			}
			outcomes = append(outcomes, e.str)
		}
	}
	onDue := c.cfg.get("on_due")
	if onDue == nil || onDue.kind != jObject {
		return
	}
	if d := c.cfg.get("due"); d == nil || d.kind == jNull || d.kind == jString && d.str == "" {
		c.add("config.on_due", "on_due needs a due time (due)")
	}
	outcome, escalate := onDue.get("outcome"), onDue.get("escalate_to")
	hasOutcome := outcome != nil && outcome.kind != jNull
	hasEscalate := escalate != nil && escalate.kind != jNull
	switch {
	case hasOutcome && hasEscalate:
		c.add("config.on_due", "on_due takes either outcome or escalate_to, not both")
	case !hasOutcome && !hasEscalate:
		c.add("config.on_due", "on_due needs an outcome to decide or escalate_to to hand the task on")
	}
	if hasOutcome && outcome.kind == jString && !contains(outcomes, outcome.str) {
		c.add("config.on_due.outcome", fmt.Sprintf("on_due.outcome %q is not one of the outcomes (%s)", outcome.str, strings.Join(outcomes, ", ")))
	}
	if hasEscalate && escalate.kind == jString && escalate.str != "" && !validAssignee(escalate.str) {
		c.add("config.on_due.escalate_to", fmt.Sprintf("on_due.escalate_to %q must be user:NAME or group:NAME, such as group:managers", escalate.str))
	}
}

func (c *configCheck) wait() {
	d, u := c.cfg.get("duration"), c.cfg.get("until")
	set := func(v *jval) bool { return v != nil && v.kind != jNull && !(v.kind == jString && v.str == "") }
	switch {
	case set(d) && set(u):
		c.add("config", "a wait node takes either duration or until, not both")
	case !set(d) && !set(u):
		c.add("config.duration", "a wait node needs a duration (such as 10m) or until")
	}
}

// subgraphIncludes checks the graph a subgraph node names against the environment.
func (v *validator) subgraphIncludes(i int) {
	cfg, err := parseJSON(v.g.Nodes[i].Config)
	if err != nil || cfg.kind != jObject {
		return
	}
	if id := cfg.get("graph"); id != nil && id.kind == jString && strings.TrimSpace(id.str) != "" {
		v.includes(site{node: i, edge: -1}, id.str)
	}
}

// schemaValue checks a schema given in the document; object says it must describe an
// object (run input).
func (v *validator) schemaValue(s site, field string, val *jval, object bool) {
	what := "schema"
	switch field {
	case "input":
		what = "input schema"
	case "config.form":
		what = "form schema"
	case "config.json_schema":
		what = "answer schema"
	}
	if err := checkSchema(val); err != nil {
		v.add(s, field, 0, fmt.Sprintf("invalid %s: %v", what, err))
		return
	}
	if object {
		if t := val.get("type"); t != nil && t.str != "object" {
			v.add(s, field, 0, fmt.Sprintf(`the %s must describe an object ("type": "object")`, what))
		}
	}
}

func (v *validator) schema(s site, field string, raw json.RawMessage, object bool) {
	val, err := parseJSON(raw)
	if err != nil {
		v.add(s, field, 0, fmt.Sprintf("%s is not valid JSON: %v", field, err))
		return
	}
	if val.kind == jNull {
		return
	}
	v.schemaValue(s, field, &val, object)
}
