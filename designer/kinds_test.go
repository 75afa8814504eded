package designer

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestKindsOrderAndLooks(t *testing.T) {
	var names []string
	color := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	types := map[FieldType]bool{FieldString: true, FieldTemplate: true, FieldExpression: true, FieldNumber: true,
		FieldInteger: true, FieldBoolean: true, FieldEnum: true, FieldDuration: true, FieldJSON: true, FieldSchema: true,
		FieldStringMap: true, FieldStringList: true, FieldStatusList: true, FieldVersion: true, FieldInlineNode: true}
	checkField := func(kind string, f FieldSpec) {
		if f.Name == "" || f.Label == "" || len(f.Help) < 20 || !types[f.Type] {
			t.Errorf("%s field %+v lacks a name, label, help or known type", kind, f)
		}
		if (f.Type == FieldEnum) != (len(f.Options) > 0) {
			t.Errorf("%s field %s: options go with enums only", kind, f.Name)
		}
	}
	for _, k := range Kinds() {
		names = append(names, k.Name)
		if k.Label == "" || k.Description == "" || k.Icon == "" || !color.MatchString(k.Color) {
			t.Errorf("kind %s lacks a label, description, icon or color", k.Name)
		}
		for _, f := range k.Fields {
			checkField(k.Name, f)
		}
		if (k.Ports == nil) != (k.Name == KindApproval) {
			t.Errorf("kind %s: only approval has no fixed ports", k.Name)
		}
		if k.DoesWork != (k.Name == KindLLM || k.Name == KindHTTP || k.Name == KindAgent) {
			t.Errorf("kind %s: DoesWork = %v", k.Name, k.DoesWork)
		}
	}
	for _, f := range CommonFields {
		checkField("common", f)
	}
	if want := "transform http llm agent approval wait subgraph map loop"; strings.Join(names, " ") != want {
		t.Fatalf("kinds = %v, want %s", names, want)
	}
}

// jsonNames lists the json field names of a struct type.
func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func TestCatalogueCoversConfigStructs(t *testing.T) {
	structs := map[string]any{KindLLM: LLMConfig{}, KindAgent: AgentConfig{}, KindHTTP: HTTPConfig{}, KindTransform: TransformConfig{},
		KindApproval: ApprovalConfig{}, KindWait: WaitConfig{}, KindSubgraph: SubgraphConfig{},
		KindMap: MapConfig{}, KindLoop: LoopConfig{}}
	for name, s := range structs {
		k, ok := KindByName(name)
		if !ok {
			t.Fatalf("no kind %s", name)
		}
		top := map[string]bool{}
		var onDue []string
		for _, f := range k.Fields {
			parent, sub, nested := strings.Cut(f.Name, ".")
			top[parent] = true
			if nested && parent == "on_due" {
				onDue = append(onDue, sub)
			}
		}
		var got []string
		for n := range top {
			got = append(got, n)
		}
		sort.Strings(got)
		if want := jsonNames(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s catalogue fields = %v, config struct has %v", name, got, want)
		}
		if name == KindApproval {
			sort.Strings(onDue)
			if want := jsonNames(OnDue{}); !reflect.DeepEqual(onDue, want) {
				t.Errorf("on_due fields = %v, OnDue has %v", onDue, want)
			}
		}
	}
	var common []string
	for _, f := range CommonFields {
		common = append(common, f.Name)
	}
	sort.Strings(common)
	var want []string
	for _, n := range jsonNames(Node{}) {
		switch n {
		case "id", "kind", "position", "config":
		case "retry":
			for _, r := range jsonNames(Retry{}) {
				want = append(want, "retry."+r)
			}
		default:
			want = append(want, n)
		}
	}
	sort.Strings(want)
	if !reflect.DeepEqual(common, want) {
		t.Errorf("CommonFields = %v, want %v", common, want)
	}
}

func TestKindByName(t *testing.T) {
	k, ok := KindByName(KindApproval)
	if !ok || k.Name != KindApproval {
		t.Fatalf("KindByName(approval) = %+v, %v", k, ok)
	}
	k.Fields[0].Name = "changed"
	k.Fields[4].Default.([]any)[0] = "changed"
	again, _ := KindByName(KindApproval)
	if again.Fields[0].Name != "title" || again.Fields[4].Default.([]any)[0] != "approve" {
		t.Fatal("KindByName hands out the catalogue itself")
	}
	if _, ok := KindByName("email"); ok {
		t.Fatal("found an unknown kind")
	}
}

func TestNodePorts(t *testing.T) {
	tests := []struct {
		name string
		node Node
		want []string
	}{
		{"transform", Node{Kind: KindTransform}, []string{"out", "error"}},
		{"wait", Node{Kind: KindWait}, []string{"out"}},
		{"approval default", Node{Kind: KindApproval, Config: json.RawMessage(`{"title":"t"}`)}, []string{"approve", "reject"}},
		{"approval outcomes", Node{Kind: KindApproval, Config: json.RawMessage(`{"outcomes":["sign","send_back"]}`)}, []string{"sign", "send_back"}},
		{"approval broken config", Node{Kind: KindApproval, Config: json.RawMessage(`{"outcomes":`)}, []string{"approve", "reject"}},
		{"map", Node{Kind: KindMap}, []string{"out", "error"}},
		{"loop", Node{Kind: KindLoop}, []string{"out", "exhausted", "error"}},
		{"unknown kind", Node{Kind: "email"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodePorts(tt.node); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("NodePorts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecodeConfig(t *testing.T) {
	temp := 0.2
	tests := []struct {
		name    string
		node    Node
		want    any
		wantErr string
	}{
		{"llm", Node{Kind: KindLLM, Config: json.RawMessage(`{"prompt":"p","temperature":0.2}`)}, &LLMConfig{Prompt: "p", Temperature: &temp}, ""},
		{"approval on_due", Node{Kind: KindApproval, Config: json.RawMessage(`{"title":"t","on_due":{"outcome":"reject"}}`)},
			&ApprovalConfig{Title: "t", OnDue: &OnDue{Outcome: "reject"}}, ""},
		{"no config", Node{Kind: KindWait}, &WaitConfig{}, ""},
		{"null config", Node{Kind: KindWait, Config: json.RawMessage(`null`)}, &WaitConfig{}, ""},
		{"unknown field", Node{Kind: KindWait, Config: json.RawMessage(`{"duration":"1s","colour":1}`)}, nil, `unknown field "colour"`},
		{"unknown on_due field", Node{Kind: KindApproval, Config: json.RawMessage(`{"on_due":{"later":1}}`)}, nil, `unknown field "on_due.later"`},
		{"case differs", Node{Kind: KindWait, Config: json.RawMessage(`{"Duration":"1s"}`)}, nil, `unknown field "Duration"`},
		{"wrong type", Node{Kind: KindWait, Config: json.RawMessage(`{"duration":5}`)}, nil, "cannot unmarshal number"},
		{"not an object", Node{Kind: KindWait, Config: json.RawMessage(`[]`)}, nil, "config must be an object, not a list"},
		{"map inline", Node{Kind: KindMap, Config: json.RawMessage(`{"items":"input.l","node":{"kind":"transform","config":{"value":"item"}},"concurrency":3}`)},
			&MapConfig{Items: "input.l", Node: &InlineNode{Kind: KindTransform, Config: json.RawMessage(`{"value":"item"}`)}, Concurrency: 3}, ""},
		{"map inline unknown member", Node{Kind: KindMap, Config: json.RawMessage(`{"items":"x","node":{"kind":"http","colour":1}}`)}, nil, `unknown field "colour"`},
		{"loop", Node{Kind: KindLoop, Config: json.RawMessage(`{"graph":"g","version":2,"until":"state.ok","max_iterations":4}`)},
			&LoopConfig{Graph: "g", Version: json.RawMessage(`2`), Until: "state.ok", MaxIterations: 4}, ""},
		{"unknown kind", Node{Kind: "email"}, nil, `unknown kind "email"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeConfig(tt.node)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}
