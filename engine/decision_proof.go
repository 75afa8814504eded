package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// Decisions carry proof that serve checked the reviewer (issue 18: anyone who could reach the
// Temporal frontend decided a task with `temporal workflow update execute --name decide` and
// a made-up by and groups). serve signs each decide update with a key from its data dir
// (Options.DecisionKey); a worker given the key (Deps.DecisionKey) refuses, in the update's
// validation, a decision without a valid signature, before anything is recorded. Validation
// does not run on replay and leaves nothing in history, so runs decided before replay as
// they did.

// DecisionKeySize is the length of a decision key in bytes.
const DecisionKeySize = 32

// decisionProof is the signature of a decision on run runID: an HMAC-SHA256 over the run, the
// node, the outcome and the reviewer as the store knows them (name, groups, claimer).
func decisionProof(key []byte, runID string, req DecideRequest) string {
	groups := slices.Clone(req.Groups)
	slices.Sort(groups)
	msg, _ := json.Marshal([]any{"trellis-decision/v1", runID, req.Node, req.Outcome, req.By, groups, req.Claimer})
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// decisionProofInterceptors checks decide updates on a worker that holds the key.
func decisionProofInterceptors(key []byte) []interceptor.WorkerInterceptor {
	if len(key) == 0 {
		return nil
	}
	return []interceptor.WorkerInterceptor{&proofInterceptor{key: key}}
}

type proofInterceptor struct {
	interceptor.WorkerInterceptorBase
	key []byte
}

func (p *proofInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &proofInbound{key: p.key}
	in.Next = next
	return in
}

type proofInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	key []byte
}

// ValidateUpdate refuses a decide update whose proof does not match; other updates, and
// decisions that pass, go on to the run's own validator.
func (p *proofInbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	if in.Name == UpdateDecide {
		var req DecideRequest
		ok := len(in.Args) == 1
		if ok {
			switch a := in.Args[0].(type) {
			case DecideRequest:
				req = a
			case *DecideRequest:
				req = *a
			default:
				ok = false
			}
		}
		runID := workflow.GetInfo(ctx).WorkflowExecution.ID
		if !ok || req.Proof == "" || !hmac.Equal([]byte(req.Proof), []byte(decisionProof(p.key, runID, req))) {
			return refuse(refusedForbidden, refusalDetail{},
				"The decision on %s does not carry Trellis's proof that the reviewer was checked: decide through Trellis", req.Node)
		}
	}
	return p.Next.ValidateUpdate(ctx, in)
}
