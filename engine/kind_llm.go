package engine

import (
	"fmt"
	"regexp"
	"strings"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// llmKind asks a language model through a configured provider. The workflow passes the
// config and a scope without secrets; the activity looks up the provider and its key,
// renders the templates and calls the model, so keys never reach history.
type llmKind struct{}

const activityLLM = "llm"

// DefaultProvider is the provider an llm node uses when its config names none.
const DefaultProvider = "default"

func init() {
	registerKind(designer.KindLLM, llmKind{})
	registerActivity(activityLLM, func(d *Deps) any { return newLLMActivity(d).run })
}

// llmRequest is the activity's input: the node's config as written and the part of the
// scope its templates read.
type llmRequest struct {
	RunID  string             `json:"run_id"`
	NodeID string             `json:"node_id"`
	Config designer.LLMConfig `json:"config"`
	Scope  map[string]any     `json:"scope"`
}

// llmTemplates is an llm config compiled.
type llmTemplates struct {
	system *designer.Template // nil without a system prompt
	prompt *designer.Template
	refs   designer.Refs
}

var providerNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// compileLLM compiles a config; on error it names the field.
func compileLLM(c designer.LLMConfig) (*llmTemplates, string, error) {
	t := &llmTemplates{}
	if c.Provider != "" && !providerNamePattern.MatchString(c.Provider) {
		return nil, "config.provider", fmt.Errorf("%q is not a provider name", c.Provider)
	}
	if strings.TrimSpace(c.Prompt) == "" {
		return nil, "config.prompt", fmt.Errorf("prompt is missing")
	}
	var err error
	if t.prompt, err = designer.CompileTemplate(c.Prompt); err != nil {
		return nil, "config.prompt", err
	}
	refs := []designer.Refs{t.prompt.Refs()}
	if c.System != "" {
		if t.system, err = designer.CompileTemplate(c.System); err != nil {
			return nil, "config.system", err
		}
		refs = append(refs, t.system.Refs())
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		return nil, "config.temperature", fmt.Errorf("temperature must be from 0 to 2")
	}
	if c.MaxTokens < 0 {
		return nil, "config.max_tokens", fmt.Errorf("max_tokens must not be negative")
	}
	if len(c.JSONSchema) > 0 {
		if _, err := designer.CompileSchema(c.JSONSchema); err != nil {
			return nil, "config.json_schema", err
		}
	}
	t.refs = mergeRefs(refs...)
	if len(t.refs.Secrets) > 0 {
		// Secrets would be rendered into the prompt and sent to the model.
		return nil, "config.prompt", fmt.Errorf("secrets.%s: secrets may be used only in http nodes", t.refs.Secrets[0])
	}
	return t, "", nil
}

func (llmKind) compile(n *designer.Node, ps *problemList) any {
	return compileActivityConfig(n, ps, compileLLM)
}

func (t *llmTemplates) references() designer.Refs { return t.refs }

func (llmKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: activity scheduled, started and completed, and a workflow task.
func (llmKind) historyEvents(*designer.Node, any) int { return 3 + workflowTaskEvents }

func (llmKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*activityConfig[designer.LLMConfig])
	req := llmRequest{RunID: x.r.in.RunID, NodeID: x.node.ID, Config: c.config, Scope: x.scope(c.refs)}
	out, attempts, err := runActivity[any](ctx, x, activityLLM, req)
	return nodeResult{Output: out, Attempts: attempts}, err
}
