package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/templates"
)

// A schema form is a form made from a JSON schema: one control per top-level property, in the
// order the schema writes them (the start of a run, a task's decision, forms to come). The
// builder and reader here and templates.SchemaFields are its one home.

// schemaFormFields builds the controls of a schema, defaults filled in.
func schemaFormFields(sch *designer.Schema) []templates.FormField {
	var out []templates.FormField
	for _, sf := range sch.Fields() {
		f := templates.FormField{Name: sf.Name, Label: schemaFieldLabel(sf), Hint: sf.Description, Required: sf.Required,
			Control: schemaControl(sf)}
		switch d := sf.Default.(type) {
		case nil:
		case bool:
			f.Checked = d
		case string:
			f.Value = d
		case float64:
			f.Value = strconv.FormatFloat(d, 'f', -1, 64)
		default:
			f.Value = jsonText(d)
		}
		if f.Control == templates.ControlSelect {
			if !sf.Required || sf.Default == nil {
				f.Options = append(f.Options, templates.FormOption{Value: "", Label: "Choose…"})
			}
			for _, e := range sf.Enum {
				v := jsonText(e)
				f.Options = append(f.Options, templates.FormOption{Value: v, Label: fmt.Sprint(e),
					Selected: sf.Default != nil && v == jsonText(sf.Default)})
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

// schemaFieldLabel is a property's schema title, or else its name in words ("refund_amount"
// is "Refund amount").
func schemaFieldLabel(sf designer.SchemaField) string {
	if sf.Title != "" {
		return sf.Title
	}
	return templates.Humanize(sf.Name)
}

// schemaControl picks the control for a property.
func schemaControl(sf designer.SchemaField) string {
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

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// readSchemaForm reads the submitted controls into a value. It returns the fields as
// submitted (kept for the page shown again), with an error on each that could not be read.
func readSchemaForm(c echo.Context, n templates.FormNames, fields []templates.FormField) (map[string]any, []templates.FormField, bool) {
	data := map[string]any{}
	ok := true
	for i := range fields {
		f := &fields[i]
		raw := c.FormValue(n.Prefix + f.Name)
		f.Value, f.Checked = raw, raw == "true"
		for k := range f.Options {
			f.Options[k].Selected = f.Options[k].Value == raw
		}
		v, msg := schemaFieldValue(f.Control, raw)
		if msg != "" {
			f.Error, ok = msg, false
			continue
		}
		if v != nil {
			data[f.Name] = v
		}
	}
	return data, fields, ok
}

// schemaFieldValue converts one control's text; nil means left empty.
func schemaFieldValue(control, raw string) (any, string) {
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

// placeFieldError puts msg on the field of the property name, unless that field has an
// error already; false when the form has no such field.
func placeFieldError(fields []templates.FormField, name, msg string) bool {
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

// pointerSteps are the properties a JSON Pointer names, unescaped ("/a~1b/0" → "a/b", "0").
func pointerSteps(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}
