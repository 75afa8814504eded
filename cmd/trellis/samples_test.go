package main

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"

	"trellis/designer"
)

// inputRef finds input.NAME in a sample's expressions and templates.
var inputRef = regexp.MustCompile(`\binput\.([A-Za-z_][A-Za-z0-9_]*)`)

// TestDevSamples: every sample --dev loads is valid, and has an input schema that declares
// every input property its steps read, so that its start-run form asks for them.
func TestDevSamples(t *testing.T) {
	names, err := fs.Glob(samples, "samples/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("samples: %v %v", names, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := samples.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			g, probs, err := designer.Parse(raw, designer.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			probs = append(probs, designer.Validate(g, designer.ValidateEnv{})...)
			for _, p := range probs {
				t.Errorf("problem: node %q field %q: %s", p.Node, p.Field, p.Message)
			}
			sch, err := designer.CompileSchema(g.Input)
			if err != nil {
				t.Fatalf("input schema: %v", err)
			}
			var fields []string
			for _, f := range sch.Fields() {
				fields = append(fields, f.Name)
			}
			if len(fields) == 0 {
				t.Fatal("the sample has no input schema: its run form would have no fields")
			}
			for _, m := range inputRef.FindAllStringSubmatch(string(raw), -1) {
				if !slices.Contains(fields, m[1]) {
					t.Errorf("the steps read input.%s, which the input schema (%v) does not declare", m[1], fields)
				}
			}
		})
	}
}
