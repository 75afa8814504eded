package designer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// The JSON Schema subset (draft 2020-12) that run inputs, approval forms and llm answers
// may use. It is what a form can show: the spec's keywords, the properties/items that
// give objects and lists their shape, bounds a form can enforce, formats a browser has an
// input for, and additionalProperties to refuse stray fields. Anything else ($ref, oneOf,
// if/then, pattern, …) is refused by name rather than half-supported.
var schemaKeywords = []string{
	"$schema", "type", "title", "description", "default", "enum", "properties", "required",
	"additionalProperties", "items", "minimum", "maximum", "minLength", "maxLength", "format",
}

// SchemaTypes are the values "type" may take.
var SchemaTypes = []string{"object", "string", "number", "integer", "boolean", "array"}

// SchemaFormats are the values "format" may take; they are enforced.
var SchemaFormats = []string{"date", "date-time", "time", "email", "uri"}

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// Schema is a compiled schema of the subset. The zero value and nil accept anything.
type Schema struct {
	raw      json.RawMessage
	root     jval
	compiled *jsonschema.Schema
	fields   []SchemaField
}

// FieldError is one place where a value does not fit a schema. Path is a JSON Pointer
// (RFC 6901) into the value: "" is the whole value, "/amount" a top-level property,
// "/items/0/name" deeper. Message is a full sentence naming the field.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// SchemaField is one top-level property, as a form shows it.
type SchemaField struct {
	Name        string
	Title       string
	Description string
	Type        string // one of SchemaTypes, or "" when the schema does not say
	Format      string // one of SchemaFormats, or ""
	Enum        []any
	Required    bool
	Default     any
}

// Label is the Title, or the Name when there is none.
func (f SchemaField) Label() string {
	if f.Title != "" {
		return f.Title
	}
	return f.Name
}

// CompileSchema checks that raw uses only the subset and compiles it. Empty input or
// null gives a schema that accepts anything. The error names the keyword and where it is.
func CompileSchema(raw json.RawMessage) (*Schema, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return &Schema{}, nil
	}
	root, err := parseJSON(trimmed)
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	if err := checkSchema(&root); err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	const url = "urn:trellis:schema"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("invalid schema: %w", err)
	}
	s := &Schema{raw: append(json.RawMessage(nil), trimmed...), compiled: compiled}
	s.root, _ = parseJSON(s.raw) // aliases s.raw, which the Schema owns
	s.fields = schemaFields(&s.root)
	return s, nil
}

// noLoader refuses every external reference: schemas are self-contained and compiling
// one never reads a file or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas cannot refer to %s", url)
}

// checkSchema enforces the subset. It is also what Validate uses for graphs, since it is
// much cheaper than compiling.
func checkSchema(v *jval) error {
	if v.kind != jObject {
		return fmt.Errorf("a schema must be an object, not %s", v.kind)
	}
	return checkSchemaAt(v, "", true)
}

func pointerLabel(ptr string) string {
	if ptr == "" {
		return "the top level"
	}
	return ptr
}

func checkSchemaAt(v *jval, ptr string, root bool) error {
	at := pointerLabel(ptr)
	if v.kind != jObject {
		return fmt.Errorf("the schema at %s must be an object, not %s", at, v.kind)
	}
	seen := make(map[string]bool, len(v.kids))
	for i := range v.kids {
		m := &v.kids[i]
		if seen[m.key] {
			return fmt.Errorf("keyword %q appears twice at %s", m.key, at)
		}
		seen[m.key] = true
		if err := checkSchemaKeyword(m, ptr, at, root); err != nil {
			return err
		}
	}
	return checkSchemaBounds(v, at)
}

// checkSchemaKeyword checks one keyword's value, and the schemas inside it.
func checkSchemaKeyword(m *jmember, ptr, at string, root bool) error {
	val := &m.val
	bad := func(want string) error {
		return fmt.Errorf("keyword %q at %s must be %s", m.key, at, want)
	}
	switch m.key {
	case "$schema":
		if !root {
			return fmt.Errorf("keyword \"$schema\" is allowed only at the top level, not at %s", at)
		}
		if val.kind != jString || strings.TrimSuffix(val.str, "#") != draft2020 {
			return bad(`"` + draft2020 + `"`)
		}
	case "type":
		if val.kind != jString || !contains(SchemaTypes, val.str) {
			return bad("one of " + strings.Join(SchemaTypes, ", "))
		}
	case "title", "description":
		if val.kind != jString {
			return bad("a string")
		}
	case "default":
	case "enum":
		if val.kind != jArray || len(val.kids) == 0 {
			return bad("a non-empty list")
		}
	case "properties":
		if val.kind != jObject {
			return bad("an object")
		}
		for j := range val.kids {
			p := &val.kids[j]
			if err := checkSchemaAt(&p.val, ptr+"/properties/"+escapePointer(p.key), false); err != nil {
				return err
			}
		}
	case "required":
		return checkSchemaRequired(val, at, bad)
	case "additionalProperties":
		if val.kind != jBool {
			return bad("true or false")
		}
	case "items":
		return checkSchemaAt(val, ptr+"/items", false)
	case "minimum", "maximum":
		if val.kind != jNumber {
			return bad("a number")
		}
		if _, ok := val.float(); !ok {
			return bad("a number in range")
		}
	case "minLength", "maxLength":
		if n, err := strconv.ParseUint(string(val.raw), 10, 31); val.kind != jNumber || err != nil || n > 1<<30 {
			return bad("a whole number, 0 or more")
		}
	case "format":
		if val.kind != jString || !contains(SchemaFormats, val.str) {
			return bad("one of " + strings.Join(SchemaFormats, ", "))
		}
	default:
		return fmt.Errorf("unsupported keyword %q at %s (allowed: %s)", m.key, at, strings.Join(schemaKeywords, ", "))
	}
	return nil
}

func checkSchemaRequired(val *jval, at string, bad func(string) error) error {
	if val.kind != jArray {
		return bad("a list of property names")
	}
	names := make(map[string]bool, len(val.kids))
	for _, m := range val.kids {
		if m.val.kind != jString {
			return bad("a list of property names")
		}
		if names[m.val.str] {
			return fmt.Errorf("keyword \"required\" at %s names %q twice", at, m.val.str)
		}
		names[m.val.str] = true
	}
	return nil
}

// checkSchemaBounds checks what keywords say together: bounds in order, enum values and the
// default of the schema's type, the default among the enum values.
func checkSchemaBounds(v *jval, at string) error {
	if lo, hi := v.get("minimum"), v.get("maximum"); lo != nil && hi != nil {
		a, _ := lo.float()
		b, _ := hi.float()
		if a > b {
			return fmt.Errorf("minimum is greater than maximum at %s", at)
		}
	}
	if lo, hi := v.get("minLength"), v.get("maxLength"); lo != nil && hi != nil {
		a, _ := strconv.Atoi(string(lo.raw))
		b, _ := strconv.Atoi(string(hi.raw))
		if a > b {
			return fmt.Errorf("minLength is greater than maxLength at %s", at)
		}
	}
	t := v.get("type")
	if e := v.get("enum"); e != nil && t != nil {
		for i := range e.kids {
			if !jsonHasType(&e.kids[i].val, t.str) {
				return fmt.Errorf("enum value %s at %s is not of type %s", e.kids[i].val.raw, at, t.str)
			}
		}
	}
	if d := v.get("default"); d != nil {
		if t != nil && !jsonHasType(d, t.str) {
			return fmt.Errorf("default %s at %s is not of type %s", d.raw, at, t.str)
		}
		if e := v.get("enum"); e != nil && !enumHas(e, d) {
			return fmt.Errorf("default %s at %s is not one of the enum values", d.raw, at)
		}
	}
	return nil
}

func jsonHasType(v *jval, t string) bool {
	switch t {
	case "object":
		return v.kind == jObject
	case "array":
		return v.kind == jArray
	case "string":
		return v.kind == jString
	case "boolean":
		return v.kind == jBool
	case "number":
		return v.kind == jNumber
	case "integer":
		if v.kind != jNumber {
			return false
		}
		r, ok := new(big.Rat).SetString(string(v.raw))
		return ok && r.IsInt()
	}
	return false
}

func enumHas(e, v *jval) bool {
	want := canonicalJSON(v)
	for i := range e.kids {
		if bytes.Equal(canonicalJSON(&e.kids[i].val), want) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func schemaFields(root *jval) []SchemaField {
	props := root.get("properties")
	if props == nil || props.kind != jObject {
		return nil
	}
	required := map[string]bool{}
	if r := root.get("required"); r != nil {
		for _, m := range r.kids {
			required[m.val.str] = true
		}
	}
	out := make([]SchemaField, 0, len(props.kids))
	for i := range props.kids {
		p := &props.kids[i]
		f := SchemaField{Name: p.key, Required: required[p.key]}
		if v := p.val.get("title"); v != nil {
			f.Title = v.str
		}
		if v := p.val.get("description"); v != nil {
			f.Description = v.str
		}
		if v := p.val.get("type"); v != nil {
			f.Type = v.str
		}
		if v := p.val.get("format"); v != nil {
			f.Format = v.str
		}
		if v := p.val.get("enum"); v != nil {
			for j := range v.kids {
				f.Enum = append(f.Enum, v.kids[j].val.toAny())
			}
		}
		if v := p.val.get("default"); v != nil {
			f.Default = v.toAny()
		}
		out = append(out, f)
	}
	return out
}

// Raw is the schema's JSON text, nil for a schema that accepts anything.
func (s *Schema) Raw() json.RawMessage {
	if s == nil {
		return nil
	}
	return s.raw
}

// Fields lists the top-level properties in the order the schema writes them.
func (s *Schema) Fields() []SchemaField {
	if s == nil || len(s.fields) == 0 {
		return nil
	}
	out := make([]SchemaField, len(s.fields))
	copy(out, s.fields)
	return out
}

// ApplyDefaults fills in properties that v lacks with their schema defaults, also inside
// nested objects that v has.
func (s *Schema) ApplyDefaults(v map[string]any) {
	if s == nil || s.compiled == nil || v == nil {
		return
	}
	applyDefaults(&s.root, v)
}

func applyDefaults(sch *jval, v map[string]any) {
	props := sch.get("properties")
	if props == nil {
		return
	}
	for i := range props.kids {
		p := &props.kids[i]
		cur, ok := v[p.key]
		if !ok {
			if d := p.val.get("default"); d != nil {
				v[p.key] = d.toAny()
			}
			continue
		}
		if m, isMap := cur.(map[string]any); isMap {
			applyDefaults(&p.val, m)
		}
	}
}

// Validate checks a value (as encoding/json decodes it: map[string]any, []any, float64,
// string, bool, nil) and returns what does not fit, ordered by path.
func (s *Schema) Validate(v any) []FieldError {
	if s == nil || s.compiled == nil {
		return nil
	}
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []FieldError{{Message: err.Error()}}
	}
	var out []FieldError
	s.collect(ve, &out)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Message < out[j].Message
	})
	// Nested causes can repeat the same complaint.
	dedup := out[:0]
	for i, fe := range out {
		if i == 0 || fe != out[i-1] {
			dedup = append(dedup, fe)
		}
	}
	return dedup
}

func (s *Schema) collect(ve *jsonschema.ValidationError, out *[]FieldError) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			s.collect(c, out)
		}
		return
	}
	loc := ve.InstanceLocation
	path := pointerOf(loc)
	label := s.labelAt(loc)
	add := func(p, msg string) { *out = append(*out, FieldError{Path: p, Message: msg}) }
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			sub := append(append([]string(nil), loc...), name)
			add(pointerOf(sub), s.labelAt(sub)+" is required")
		}
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typeWords(w)
		}
		add(path, fmt.Sprintf("%s must be %s, not %s", label, strings.Join(want, " or "), typeWords(k.Got)))
	case *kind.Enum:
		vals := make([]string, len(k.Want))
		for i, w := range k.Want {
			if str, ok := w.(string); ok {
				vals[i] = str
			} else {
				b, _ := json.Marshal(w)
				vals[i] = string(b)
			}
		}
		add(path, fmt.Sprintf("%s must be one of %s", label, strings.Join(vals, ", ")))
	case *kind.Minimum:
		f, _ := k.Want.Float64()
		add(path, fmt.Sprintf("%s must be at least %v", label, f))
	case *kind.Maximum:
		f, _ := k.Want.Float64()
		add(path, fmt.Sprintf("%s must be at most %v", label, f))
	case *kind.MinLength:
		add(path, fmt.Sprintf("%s must be at least %d characters long", label, k.Want))
	case *kind.MaxLength:
		add(path, fmt.Sprintf("%s must be at most %d characters long", label, k.Want))
	case *kind.Format:
		add(path, fmt.Sprintf("%s must be %s", label, formatWords(k.Want)))
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			sub := append(append([]string(nil), loc...), name)
			add(pointerOf(sub), fmt.Sprintf("%s is not an expected field", name))
		}
	case *kind.InvalidJsonValue:
		add(path, fmt.Sprintf("%s holds a %T, which is not a JSON value", label, k.Value))
	default:
		add(path, fmt.Sprintf("%s does not fit the schema's %q rule", label, strings.Join(ve.ErrorKind.KeywordPath(), "/")))
	}
}

func pointerOf(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(s))
	}
	return b.String()
}

// labelAt names the value at loc for messages: its schema title, else its property name.
func (s *Schema) labelAt(loc []string) string {
	if len(loc) == 0 {
		return "The value"
	}
	sch := &s.root
	for _, seg := range loc {
		var next *jval
		if props := sch.get("properties"); props != nil {
			next = props.get(seg)
		}
		if next == nil {
			if items := sch.get("items"); items != nil {
				if _, err := strconv.Atoi(seg); err == nil {
					next = items
				}
			}
		}
		if next == nil {
			sch = nil
			break
		}
		sch = next
	}
	if sch != nil {
		if t := sch.get("title"); t != nil && t.kind == jString && t.str != "" {
			return t.str
		}
	}
	return loc[len(loc)-1]
}

func typeWords(t string) string {
	switch t {
	case "string":
		return "text"
	case "number":
		return "a number"
	case "integer":
		return "a whole number"
	case "boolean":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "null":
		return "empty"
	}
	return t
}

func formatWords(f string) string {
	switch f {
	case "date":
		return "a date like 2025-01-31"
	case "date-time":
		return "a date and time like 2025-01-31T09:00:00Z"
	case "time":
		return "a time like 09:00:00Z"
	case "email":
		return "an e-mail address"
	case "uri":
		return "a full web address (URI)"
	}
	return "a valid " + f
}
