// Package schemaform makes a form from a JSON schema: one control per top-level property, in
// the order the schema writes them (the start of a run, a task's decision, forms to come),
// and reads each control's text back. With templates.SchemaFields it is the one home of
// schema forms; web reads the submitted form. It imports designer and templates, not web,
// so that its fuzz test (FuzzSchemaForm) builds in a minute where, in web, it built the
// whole Temporal server.
package schemaform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"trellis/designer"
	"trellis/templates"
)

// Fields builds the controls of a schema, defaults filled in.
func Fields(sch *designer.Schema) []templates.FormField {
	var out []templates.FormField
	for _, sf := range sch.Fields() {
		f := templates.FormField{Name: sf.Name, Label: Label(sf), Hint: sf.Description, Required: sf.Required,
			Control: control(sf)}
		switch d := sf.Default.(type) {
		case nil:
		case bool:
			f.Checked = d
		case string:
			f.Value = d
		case float64:
			f.Value = strconv.FormatFloat(d, 'f', -1, 64)
		default:
			f.Value = JSONText(d)
		}
		if f.Control == templates.ControlSelect {
			if !sf.Required || sf.Default == nil {
				f.Options = append(f.Options, templates.FormOption{Value: "", Label: "Choose…"})
			}
			for _, e := range sf.Enum {
				v := JSONText(e)
				f.Options = append(f.Options, templates.FormOption{Value: v, Label: fmt.Sprint(e),
					Selected: sf.Default != nil && v == JSONText(sf.Default)})
			}
		}
		if f.Control == templates.ControlJSON {
			f.Hint = strings.TrimSpace(f.Hint + " Write it as JSON.")
		}
		switch sf.Format {
		case "date-time":
			f.Hint = strings.TrimSpace(f.Hint + " Like 2025-01-31T09:00:00Z.")
		case "time":
			f.Hint = strings.TrimSpace(f.Hint + " Like 09:00:00Z.")
		}
		out = append(out, f)
	}
	return out
}

// Label is a property's schema title, or else its name in words ("refund_amount"
// is "Refund amount").
func Label(sf designer.SchemaField) string {
	if sf.Title != "" {
		return sf.Title
	}
	return templates.Humanize(sf.Name)
}

// control picks the control for a property.
func control(sf designer.SchemaField) string {
	switch {
	case len(sf.Enum) > 0:
		return templates.ControlSelect
	case sf.Type == "boolean":
		return templates.ControlCheckbox
	case sf.Type == "number":
		return templates.ControlNumber
	case sf.Type == "integer":
		return templates.ControlInteger
	case sf.Type != "string": // objects, lists and untyped properties take JSON
		return templates.ControlJSON
	}
	switch sf.Format {
	case "date":
		return templates.ControlDate
	case "email":
		return templates.ControlEmail
	case "uri":
		return templates.ControlURL
	}
	// A textarea where the schema hints at long text.
	words := strings.ToLower(sf.Name + " " + sf.Title + " " + sf.Description)
	for _, w := range longTextWords {
		if strings.Contains(words, w) {
			return templates.ControlTextarea
		}
	}
	return templates.ControlText
}

var longTextWords = []string{"message", "description", "body", "text", "comment", "note", "paragraph",
	"multi-line", "multiline", "long", "reason", "explanation", "details"}

// JSONText is v as JSON, for a control showing a value that is not text.
func JSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// FieldValue converts one control's text; nil means left empty.
func FieldValue(control, raw string) (any, string) {
	if control == templates.ControlCheckbox {
		return raw == "true", ""
	}
	if control != templates.ControlTextarea && control != templates.ControlText {
		raw = strings.TrimSpace(raw)
	}
	if raw == "" {
		return nil, ""
	}
	switch control {
	case templates.ControlNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, "Enter a number, such as 12.5."
		}
		return n, ""
	case templates.ControlInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "Enter a whole number, such as 3."
		}
		return float64(n), ""
	case templates.ControlSelect, templates.ControlJSON:
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			if control == templates.ControlSelect {
				return nil, "Choose one of the options."
			}
			return nil, "Write valid JSON here, such as [\"a\", \"b\"] or {\"key\": 1}."
		}
		return v, ""
	}
	return raw, ""
}

// PlaceError puts msg on the field of the property name, unless that field has an
// error already; false when the form has no such field.
func PlaceError(fields []templates.FormField, name, msg string) bool {
	for i := range fields {
		if fields[i].Name == name {
			if fields[i].Error == "" {
				fields[i].Error = msg
			}
			return true
		}
	}
	return false
}

// PointerSteps are the properties a JSON Pointer names, unescaped ("/a~1b/0" → "a/b", "0").
func PointerSteps(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}
