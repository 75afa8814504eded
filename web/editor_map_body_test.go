package web

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/store"
)

// TestEditorMapBodyForm: a map's body is a choice between one step and a graph. One step gets a
// kind picker of the kinds the designer allows there, then that kind's fields from the
// catalogue under config.node, with the designer's problems beside them; a graph body gets the
// graph's fields and, under the graph's id, its name and version with links to open it.
func TestEditorMapBodyForm(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Maps", "")
	body := createGraphIn(t, app, "Classify <one>", "")
	ana := app.api("ada", store.RoleAnalyst)
	ana.publish(body, "v1")

	t.Run("a new map asks for the step's kind", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs"}}`))
		wantStatus(t, r, http.StatusOK)
		opts := regexp.MustCompile(`<option value="([a-z]*)"`).FindAllStringSubmatch(between(t, r.Body, `data-path="config.node.kind"`, `</select>`), -1)
		var got []string
		for _, o := range opts {
			got = append(got, o[1])
		}
		if want := append([]string{""}, designer.InlineBodyKinds...); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("kinds offered = %v, want %v", got, want)
		}
		for _, want := range []string{`value="node" data-body-mode checked`, `>Ask an LLM</option>`, `data-testid="error-config.node"`, "A map needs a body"} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		if strings.Contains(r.Body, `data-path="config.graph"`) {
			t.Error("a one-step body shows the graph's fields")
		}
	})

	t.Run("an llm step has the llm fields, with problems beside them", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs",
			"node":{"kind":"llm","config":{"system":"You sort {{ item.kind }}","temperature":"hot"},"retry":{"max_attempts":2}}}}`))
		wantStatus(t, r, http.StatusOK)
		spec, _ := designer.KindByName(designer.KindLLM)
		for _, f := range spec.Fields {
			if !strings.Contains(r.Body, `data-path="config.node.config.`+f.Name+`"`) {
				t.Errorf("no control for config.node.config.%s", f.Name)
			}
		}
		for _, want := range []string{
			`<option value="llm" selected>Ask an LLM</option>`,
			`data-testid="input-config.node.config.system">You sort {{ item.kind }}</textarea>`,
			`data-path="config.node.retry.max_attempts" data-type="integer" step="1" value="2"`,
			`data-path="config.node.timeout"`,
		} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		if got := fieldErrorText(t, r.Body, "config.node.config.prompt"); !strings.Contains(got, "Prompt is required") {
			t.Errorf("prompt's error = %q", got)
		}
		if got := fieldErrorText(t, r.Body, "config.node.config.temperature"); !strings.Contains(got, "Temperature must be a number") {
			t.Errorf("temperature's error = %q", got)
		}
	})

	t.Run("a transform step takes no retries", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"[1]","node":{"kind":"transform","config":{"value":"item * 2"}}}}`))
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Body, `data-path="config.node.config.value" data-type="value" data-mode="expression"`) || strings.Contains(r.Body, `config.node.retry`) {
			t.Errorf("transform step form:\n%s", between(t, r.Body, `data-testid="map-body"`, `</fieldset>`))
		}
	})

	t.Run("a graph body names its graph and links it", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs","graph":"`+body+`","version":1}}`))
		wantStatus(t, r, http.StatusOK)
		for _, want := range []string{
			`value="graph" data-body-mode checked`,
			`data-path="config.graph"`, `data-keep-empty="true"`, `data-path="config.version"`, `data-path="config.input"`,
			`href="/graphs/` + body + `/versions/1"`, html.EscapeString("Classify <one>"), "version 1",
			`href="/graphs/` + body + `/edit"`,
		} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		if strings.Contains(r.Body, `data-path="config.node.kind"`) {
			t.Error("a graph body shows the step's kind picker")
		}
		r = nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs","graph":"`+body+`"}}`))
		if !strings.Contains(r.Body, "latest (version 1 now)") {
			t.Errorf("latest is not resolved in:\n%s", between(t, r.Body, `data-testid="graph-ref-config.graph"`, `</p>`))
		}
		r = nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs","graph":"nosuchgraph"}}`))
		if !strings.Contains(r.Body, "No graph has this id.") {
			t.Error("an unknown graph is not said")
		}
		r = nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"input.docs","graph":""}}`))
		if !strings.Contains(r.Body, `value="graph" data-body-mode checked`) {
			t.Error("an empty graph body does not keep the graph mode")
		}
	})

	t.Run("a loop's graph is linked too", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"again","kind":"loop","config":{"graph":"`+body+`","version":1,"max_iterations":3}}`))
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Body, `href="/graphs/`+body+`/versions/1"`) {
			t.Error("the loop's body graph is not linked")
		}
		r = nodeForm(t, c, id, rawNode(t, `{"id":"again","kind":"loop","config":{"graph":"`+body+`","version":5,"max_iterations":3}}`))
		if !strings.Contains(r.Body, "has no version 5 (the latest is 1)") {
			t.Error("a version that does not exist is not said")
		}
	})

	t.Run("a body that is not an object stays as JSON", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"each","kind":"map","config":{"items":"[1]","node":"half typed {"}}`))
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Body, `data-path="config.node" data-type="json"`) || !strings.Contains(r.Body, "half typed {") {
			t.Error("the text of the body is not shown")
		}
	})
}

// TestEditorBodyGraphStarters: the new body graphs the editor offers are valid graphs whose
// input fits: a loop's takes {state, iteration}; the action is offered beside a loop's graph and
// a map's graph body, not beside a subgraph's.
func TestEditorBodyGraphStarters(t *testing.T) {
	for name, def := range map[string]string{"map": mapBodyStarter, "loop": loopBodyStarter} {
		g, probs, err := designer.ParseAndValidate([]byte(def), designer.DefaultLimits, designer.ValidateEnv{})
		if err != nil || len(probs) > 0 {
			t.Fatalf("%s starter: %v %v", name, err, probs)
		}
		if name == "loop" && !strings.Contains(string(g.Input), `"state"`) || name == "loop" && !strings.Contains(string(g.Input), `"iteration"`) {
			t.Errorf("the loop starter's input is %s", g.Input)
		}
	}
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Starters", "")
	for node, want := range map[string]bool{
		`{"id":"a","kind":"loop","config":{"max_iterations":3}}`:                 true,
		`{"id":"a","kind":"map","config":{"items":"[1]","graph":""}}`:            true,
		`{"id":"a","kind":"map","config":{"items":"[1]","node":{"kind":"llm"}}}`: false,
		`{"id":"a","kind":"subgraph","config":{"graph":"x"}}`:                    false,
	} {
		r := nodeForm(t, c, id, rawNode(t, node))
		wantStatus(t, r, http.StatusOK)
		if got := strings.Contains(r.Body, `data-testid="new-body-graph"`); got != want {
			t.Errorf("%s: new body graph offered = %v, want %v", node, got, want)
		}
	}
}

// between is the part of s from the first from to the next to after it.
func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("%s not found", from)
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

// fieldErrorText is the text of the error paragraph of field name.
func fieldErrorText(t *testing.T, body, name string) string {
	t.Helper()
	part := between(t, body, `data-testid="error-`+name+`"`, `</p>`)
	return html.UnescapeString(part[strings.Index(part, ">")+1:])
}
