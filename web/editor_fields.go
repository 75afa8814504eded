package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"trellis/designer"
	"trellis/templates"
)

// nodeDurationPattern is the HTML pattern of a Go duration such as 30s, 1h30m or 1.5h.
const nodeDurationPattern = `([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+`

// nodeFormProps builds the settings form of a node from the kind catalogue: the node's id
// and label, its kind's config fields, then the common fields that apply to the kind. raw is
// the node as posted, so that values keep their key order and ill-typed values still show.
func nodeFormProps(graphID string, raw json.RawMessage, n designer.Node, problems []designer.Problem) templates.NodeFormProps {
	p := templates.NodeFormProps{GraphID: graphID, NodeID: n.ID, Kind: n.Kind}
	spec, known := designer.KindByName(n.Kind)
	if known {
		p.KindLabel, p.Icon, p.Color, p.Description = spec.Label, spec.Icon, spec.Color, spec.Description
	} else {
		p.KindLabel, p.Icon, p.Color = "Unknown kind", "?", "#94a3b8"
	}

	p.Main = append(p.Main, templates.NodeField{
		Name: "id", Label: "Step ID", Control: templates.NodeControlText, DataType: "id", Mono: true, Required: true,
		Value:   n.ID,
		Pattern: designer.NodeIDPattern,
		Help:    "Other steps read this step's result as nodes." + n.ID + ".output. Lowercase letters, digits and _, starting with a letter.",
	})
	common := map[string]designer.FieldSpec{}
	for _, f := range designer.CommonFields {
		common[f.Name] = f
	}
	label := nodeFormField(common["label"], "label", nodeLookupRaw(raw, "label"))
	label.Placeholder = p.KindLabel // what the canvas shows without a label
	p.Main = append(p.Main, label)

	if known {
		for _, f := range spec.Fields {
			path := "config." + f.Name
			if n.Kind == designer.KindTransform && f.Name == "value" {
				p.Config = append(p.Config, nodeValueField(f, path, nodeLookupRaw(raw, path)))
				continue
			}
			if n.Kind == designer.KindMap && slices.Contains(mapGraphFields, f.Name) {
				continue // inside the body
			}
			if f.Type == designer.FieldInlineNode {
				p.Config = append(p.Config, mapBodyField(spec, raw))
				continue
			}
			p.Config = append(p.Config, nodeFormField(f, path, nodeLookupRaw(raw, path)))
		}
	} else {
		// A config is an object: a string there is text the user has not made JSON yet.
		cfg := nodeLookupRaw(raw, "config")
		field := nodeFormField(designer.FieldSpec{Label: "Config", Type: designer.FieldJSON,
			Help: "The settings of this step, as JSON. Choose a known kind to get a proper form."}, "config", cfg)
		field.KeepText = true
		if s, ok := nodeRawString(cfg); ok {
			field.Value = s
		}
		p.Config = append(p.Config, field)
	}

	for _, f := range designer.CommonFields {
		val := nodeLookupRaw(raw, f.Name)
		// Fields that do not apply to the kind are left out, unless the node has a value
		// there: then the user needs the field to take it away.
		switch {
		case f.Name == "label":
			continue
		case strings.HasPrefix(f.Name, "retry.") && !spec.DoesWork && nodeLookupRaw(raw, "retry") == nil:
			continue
		case f.Name == "timeout" && !spec.DoesWork && val == nil:
			continue
		case f.Name == "on_error" && !kindHasErrorPort(spec) && val == nil:
			continue
		}
		field := nodeFormField(f, f.Name, val)
		if field.Value != "" && field.Value != nodeDefaultText(f.Default) {
			p.CommonOpen = true
		}
		p.Common = append(p.Common, field)
	}

	// Problems go beside the field they concern; the others are listed above the form.
	for _, pr := range problems {
		i, list := findNodeField(&p, pr.Field)
		if i < 0 {
			p.Problems = append(p.Problems, fieldProblemText(pr))
			continue
		}
		f := &(*list)[i]
		if f.Error == "" {
			f.Error, f.Column = fieldProblemText(pr), pr.Column
		} else {
			f.Error += " " + fieldProblemText(pr)
		}
		if list == &p.Common {
			p.CommonOpen = true
		}
	}
	return p
}

func kindHasErrorPort(spec designer.KindSpec) bool {
	for _, port := range spec.Ports {
		if port == designer.PortError {
			return true
		}
	}
	return false
}

// findNodeField finds the form field a problem's field belongs to: the longest field name that
// is the problem's field or a prefix of it ("config.headers" for "config.headers.X-Key",
// "config.outcomes" for "config.outcomes[1]"). It returns -1 when none fits.
func findNodeField(p *templates.NodeFormProps, problemField string) (int, *[]templates.NodeField) {
	best, bestLen := -1, -1
	var bestList *[]templates.NodeField
	lists := []*[]templates.NodeField{&p.Main, &p.Config, &p.Common}
	for i := range p.Config {
		if b := p.Config[i].Body; b != nil {
			lists = append(lists, &b.Node, &b.Graph)
		}
	}
	for _, list := range lists {
		for i, f := range *list {
			if nodeFieldCovers(f.Name, problemField) && len(f.Name) > bestLen {
				best, bestLen, bestList = i, len(f.Name), list
			}
		}
	}
	return best, bestList
}

func nodeFieldCovers(name, problemField string) bool {
	if problemField == name {
		return true
	}
	rest, ok := strings.CutPrefix(problemField, name)
	return ok && (rest[0] == '.' || rest[0] == '[')
}

// fieldProblemText is a problem as shown in the form: its message, with the column when known.
func fieldProblemText(p designer.Problem) string {
	msg := sentence(p.Message)
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	if p.Column > 0 {
		return fmt.Sprintf("Column %d: %s", p.Column, msg)
	}
	return msg
}

// nodeLookupRaw returns the raw JSON at a dotted path of a JSON object, or nil.
func nodeLookupRaw(raw json.RawMessage, path string) json.RawMessage {
	cur := raw
	for _, key := range strings.Split(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return nil
		}
		next, ok := obj[key]
		if !ok {
			return nil
		}
		cur = next
	}
	if bytes.Equal(bytes.TrimSpace(cur), []byte("null")) {
		return nil
	}
	return cur
}

// nodeDefaultText is a field default as the form shows it in a placeholder.
func nodeDefaultText(v any) string {
	switch d := v.(type) {
	case nil:
		return ""
	case string:
		return d
	case []any:
		parts := make([]string, len(d))
		for i, e := range d {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// nodeValueField is a transform's value (graph-format.md): a JSON string is an expression,
// shown as its text in expression mode; any other JSON is a fixed value whose texts are
// templates, shown indented in JSON mode. An empty value starts as an expression, as the
// hint suggests.
func nodeValueField(f designer.FieldSpec, path string, val json.RawMessage) templates.NodeField {
	ff := templates.NodeField{
		Name: path, Label: f.Label, Help: f.Help, Required: f.Required, DataType: "value",
		Control: templates.NodeControlValue, Mono: true, Rows: 4, KeepText: true,
		Mode: templates.ValueModeExpression,
	}
	if s, ok := nodeRawString(val); ok {
		ff.Value = s
	} else if val != nil {
		ff.Mode, ff.Value = templates.ValueModeJSON, editorIndentJSON(val)
	}
	return ff
}

// nodeRawString is the text of a JSON string value.
func nodeRawString(val json.RawMessage) (string, bool) {
	var s string
	if val == nil || json.Unmarshal(val, &s) != nil {
		return "", false
	}
	return s, true
}

// nodeFormField picks the control for a field by its type and fills in the value. A value of the
// wrong type is shown as JSON, so that nothing the user wrote is hidden or lost.
func nodeFormField(f designer.FieldSpec, path string, val json.RawMessage) templates.NodeField {
	ff := templates.NodeField{
		Name: path, Label: f.Label, Help: f.Help, Required: f.Required,
		Placeholder: nodeDefaultText(f.Default), DataType: string(f.Type),
	}
	asJSON := func() templates.NodeField {
		ff.Control, ff.DataType, ff.Mono, ff.Rows, ff.KeepText = templates.NodeControlTextarea, "json", true, 3, true
		ff.Value = editorIndentJSON(val)
		if s, ok := nodeRawString(val); ok {
			ff.Value = s // text typed here that is not JSON yet
		}
		ff.Help += " This value has an unexpected type, so it is shown as JSON."
		return ff
	}
	switch f.Type {
	case designer.FieldString, designer.FieldTemplate, designer.FieldExpression, designer.FieldDuration, designer.FieldEnum:
		return nodeTextField(ff, f, val, asJSON)
	case designer.FieldNumber, designer.FieldInteger, designer.FieldBoolean, designer.FieldVersion:
		return nodeScalarField(ff, f, val, asJSON)
	case designer.FieldJSON, designer.FieldSchema, designer.FieldStringMap, designer.FieldStringList, designer.FieldStatusList:
		return nodeCompoundField(ff, f, val, asJSON)
	}
	return asJSON()
}

// nodeTextField is a text, template, expression, duration or choice field: a string value.
func nodeTextField(ff templates.NodeField, f designer.FieldSpec, val json.RawMessage, asJSON func() templates.NodeField) templates.NodeField {
	var str string
	if val != nil && json.Unmarshal(val, &str) != nil {
		return asJSON()
	}
	ff.Value = str
	switch f.Type {
	case designer.FieldString:
		ff.Control = templates.NodeControlText
	case designer.FieldTemplate, designer.FieldExpression:
		ff.Control, ff.Mono, ff.Rows = templates.NodeControlTextarea, true, 2
	case designer.FieldDuration:
		ff.Control, ff.Mono, ff.Pattern = templates.NodeControlText, true, nodeDurationPattern
		if ff.Placeholder == "" {
			ff.Placeholder = "e.g. 30s, 5m or 72h"
		}
	case designer.FieldEnum:
		ff.Control, ff.Options = templates.NodeControlSelect, f.Options
		if ff.Value == "" {
			ff.Value = nodeDefaultText(f.Default)
		}
		if ff.Value != "" && !slices.Contains(ff.Options, ff.Value) {
			ff.Options = append([]string{ff.Value}, ff.Options...) // keep an unknown value visible
		}
	}
	return ff
}

// nodeScalarField is a number, a checkbox or a version (a number or "latest").
func nodeScalarField(ff templates.NodeField, f designer.FieldSpec, val json.RawMessage, asJSON func() templates.NodeField) templates.NodeField {
	switch f.Type {
	case designer.FieldBoolean:
		ff.Control = templates.NodeControlCheckbox
		if val != nil && json.Unmarshal(val, &ff.Checked) != nil {
			return asJSON()
		}
		return ff
	case designer.FieldVersion:
		ff.Control = templates.NodeControlText
	default:
		ff.Control, ff.Step = templates.NodeControlNumber, "any"
		if f.Type == designer.FieldInteger {
			ff.Step = "1"
		}
	}
	if val == nil {
		return ff
	}
	var num json.Number
	if json.Unmarshal(val, &num) == nil {
		ff.Value = num.String()
		return ff
	}
	var str string
	if f.Type == designer.FieldVersion && json.Unmarshal(val, &str) == nil {
		ff.Value = str
		return ff
	}
	return asJSON()
}

// nodeCompoundField is a JSON value, a schema, a map of templates or a list.
func nodeCompoundField(ff templates.NodeField, f designer.FieldSpec, val json.RawMessage, asJSON func() templates.NodeField) templates.NodeField {
	switch f.Type {
	case designer.FieldJSON, designer.FieldSchema:
		ff.Control, ff.Mono, ff.Rows = templates.NodeControlTextarea, true, 4
		if val != nil {
			ff.Value = editorIndentJSON(val)
		}
		// A schema is an object: a string there is text the user has not made JSON yet.
		if f.Type == designer.FieldSchema {
			ff.KeepText, ff.Rows = true, 6
			if s, ok := nodeRawString(val); ok {
				ff.Value = s
			}
		}
		return ff
	case designer.FieldStringMap:
		ff.Control = templates.NodeControlMap
		if val == nil {
			return ff
		}
		pairs, ok := nodeStringPairs(val)
		if !ok {
			return asJSON()
		}
		ff.Pairs = pairs
		return ff
	case designer.FieldStringList:
		ff.Control, ff.Placeholder = templates.NodeControlList, ""
		if val == nil {
			ff.Items = nodeStrings(f.Default)
			ff.Defaulted = len(ff.Items) > 0
			return ff
		}
		if json.Unmarshal(val, &ff.Items) != nil {
			return asJSON()
		}
		return ff
	}
	// A list of status codes, shown as "200, 2xx".
	ff.Control, ff.Mono = templates.NodeControlText, true
	if val == nil {
		return ff
	}
	var items []any
	if json.Unmarshal(val, &items) != nil {
		return asJSON()
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprint(it)
	}
	ff.Value = strings.Join(parts, ", ")
	return ff
}

func nodeStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// nodeStringPairs reads a JSON object of strings in its key order.
func nodeStringPairs(raw json.RawMessage) ([]templates.NodePair, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var pairs []templates.NodePair
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := kt.(string)
		var val string
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		pairs = append(pairs, templates.NodePair{Key: key, Value: val})
	}
	return pairs, true
}
