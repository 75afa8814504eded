package web

import (
	"github.com/labstack/echo/v4"

	"trellis/templates"
	"trellis/web/schemaform"
)

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
		v, msg := schemaform.FieldValue(f.Control, raw)
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
