package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"trellis/designer"
)

// Errors Engine methods return (wrapped).
var (
	ErrRunNotFound = errors.New("run not found")
	// ErrRunClosed: the run has already ended (cancel).
	ErrRunClosed = errors.New("run has already ended")
	// ErrBadFilter: a RunFilter field cannot be used.
	ErrBadFilter = errors.New("bad run filter")
)

// Options configure an Engine.
type Options struct {
	// TaskQueue defaults to DefaultTaskQueue; Namespace to Namespace.
	TaskQueue string
	Namespace string
	// QueryTimeout bounds the state query in GetRun; default 10s.
	QueryTimeout time.Duration
	// DecisionKey signs decisions, so workers holding the same key know serve checked the
	// reviewer (decision_proof.go); nil signs none.
	DecisionKey []byte
}

// Engine starts, reads, lists and cancels runs.
type Engine struct {
	c    client.Client
	opts Options
}

// New returns an Engine on a connected client.
func New(c client.Client, opts Options) *Engine {
	if opts.TaskQueue == "" {
		opts.TaskQueue = DefaultTaskQueue
	}
	if opts.Namespace == "" {
		opts.Namespace = Namespace
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	return &Engine{c: c, opts: opts}
}

// StartRunRequest names the pinned version a run is started on.
type StartRunRequest struct {
	GraphID string
	Version int
	// Draft starts a test run of a graph's draft (from the editor) instead of a version: it
	// runs as version 0 with an id starting "draft-", and lists and counts leave it out
	// unless asked for draft runs (RunFilter.Drafts), so it never counts as a version's run.
	Draft      bool
	Definition designer.Graph
	Input      any
	StartedBy  string
	// RunID, when set (from NewRunID), is the new run's id: traffic splits hash it before
	// the run starts. Empty picks a new one.
	RunID string
	// Rewind is set by Rewind: the run carries these outputs over (recovery_rewind.go).
	Rewind *RewindFrom
}

// Run is a run as GET /runs/{run_id} shows it.
type Run struct {
	RunID     string               `json:"run_id"`
	Graph     string               `json:"graph"`
	Version   int                  `json:"version"`
	Status    string               `json:"status"`
	Input     any                  `json:"input"`
	Output    any                  `json:"output"`
	Error     *NodeError           `json:"error"`
	Nodes     map[string]NodeState `json:"nodes"`
	StartedBy string               `json:"started_by,omitempty"`
	StartedAt time.Time            `json:"started_at"`
	EndedAt   *time.Time           `json:"ended_at"`
	// Draft marks a test run of a draft (version 0).
	Draft bool `json:"draft,omitempty"`
	// RewoundFrom and RewoundAs link a run and the runs rewound from it (recovery_rewind.go).
	RewoundFrom *RewoundFrom `json:"rewound_from,omitempty"`
	RewoundAs   []string     `json:"rewound_as,omitempty"`
	// InputCorrected says who replaced a rewound run's input, and what was recorded.
	InputCorrected *Correction `json:"input_corrected,omitempty"`
	// Operations are the operators' pauses and resumes of the run.
	Operations []OperatorAction `json:"operations,omitempty"`
}

// RunSummary is one row of GET /runs.
type RunSummary struct {
	RunID     string     `json:"run_id"`
	Graph     string     `json:"graph"`
	Version   int        `json:"version"`
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	// Tokens and Cost are the run's llm usage, known once a run with llm nodes has ended;
	// Cost needs a price for every model the run used.
	Tokens *int64   `json:"tokens,omitempty"`
	Cost   *float64 `json:"cost,omitempty"`
	// Draft marks a test run of a draft (version 0).
	Draft bool `json:"draft,omitempty"`
}

// RunFilter narrows ListRuns; zero fields do not filter. Status is a run status. Draft test
// runs are left out unless Drafts asks for them, and then only they are listed.
type RunFilter struct {
	GraphID   string
	Version   int
	Status    string
	Drafts    bool
	PageSize  int
	PageToken []byte
}

var (
	graphKey     = temporal.NewSearchAttributeKeyKeyword(SAGraph)
	versionKey   = temporal.NewSearchAttributeKeyInt64(SAVersion)
	startedByKey = temporal.NewSearchAttributeKeyKeyword(SAStartedBy)
)

func runSearchAttributes(graphID string, version int, startedBy string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(graphKey.ValueSet(graphID), versionKey.ValueSet(int64(version)),
		startedByKey.ValueSet(startedBy), statusKey.ValueSet(RunRunning))
}

// StartRun checks that the definition compiles and fits, then starts a run; the run id is
// the workflow id. A definition that cannot run gives an error matching ErrInvalidDefinition
// (a *DefinitionError with the problems).
func (e *Engine) StartRun(ctx context.Context, req StartRunRequest) (string, error) {
	prefix, summary := "run-", fmt.Sprintf("%s v%d", req.GraphID, req.Version)
	switch {
	case req.Draft:
		req.Version, prefix, summary = DraftVersion, "draft-", req.GraphID+" draft"
	case req.Version < 1:
		// Version 0 is how lists tell draft test runs; a run of a version must not pass as one.
		return "", fmt.Errorf("start run of %s: version %d: a run starts on a published version (1, 2, …) or is a draft test run", req.GraphID, req.Version)
	}
	if _, err := compileCached(&req.Definition); err != nil {
		return "", err
	}
	id, err := req.RunID, error(nil)
	if id == "" {
		id, err = newRunID(prefix)
	} else if !req.Draft && !validRunID(id) {
		err = fmt.Errorf("start run of %s: run id %q is not one NewRunID gives", summary, id)
	}
	if err != nil {
		return "", err
	}
	in := RunInput{RunID: id, GraphID: req.GraphID, Version: req.Version, Definition: req.Definition,
		Input: req.Input, StartedBy: req.StartedBy, Rewind: req.Rewind}
	if err := checkStartSize(in); err != nil {
		return "", err
	}
	_, err = e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                e.opts.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    startSearchAttributes(req),
		StaticSummary:            summary,
	}, WorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("start run of %s: %w", summary, err)
	}
	return id, nil
}

// DraftVersion is the version of a draft test run (StartRunRequest.Draft).
const DraftVersion = 0

func newRunID(prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new run id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// GetRun reads a run, open or closed: its status, input, output or error, and every node's
// state (from the "state" query, with live attempt counts and the last failure of
// activities still retrying from DescribeWorkflowExecution).
func (e *Engine) GetRun(ctx context.Context, runID string) (*Run, error) {
	for try := 0; ; try++ {
		run, settled, err := e.getRun(ctx, runID)
		// A run that ends between describe and query is read again, so that status,
		// output and nodes agree.
		if err != nil || settled || try == 2 {
			return run, err
		}
	}
}

func (e *Engine) getRun(ctx context.Context, runID string) (*Run, bool, error) {
	desc, err := e.c.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		return nil, false, e.notFound(runID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	run := &Run{RunID: runID, Nodes: map[string]NodeState{}}
	sa := decodeSearchAttributes(info.GetSearchAttributes())
	run.Graph, run.Version, run.StartedBy = sa.graph, sa.version, sa.startedBy
	run.Draft = sa.draft()
	run.Status = runStatus(info.GetStatus(), sa.status)
	run.StartedAt = info.GetStartTime().AsTime().UTC()
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime().UTC()
		run.EndedAt = &t
	}

	st, qerr := e.queryState(ctx, runID)
	if qerr == nil {
		run.Input, run.Nodes, run.RewoundFrom, run.Operations = st.Input, st.Nodes, st.RewoundFrom, st.Operations
		run.InputCorrected = st.InputCorrected
		if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			if !liveStatus(st.Status) {
				return run, false, nil
			}
			run.Status = st.Status
		}
	} else if in, err := e.startInput(ctx, runID); err == nil {
		run.Input = in.Input
		if rw := in.Rewind; rw != nil {
			run.RewoundFrom = &RewoundFrom{RunID: rw.RunID, Node: rw.Node}
		}
	}
	if run.Status != RunRunning && run.Status != RunWaiting {
		run.RewoundAs = e.rewoundAs(ctx, runID)
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		var out any
		if err := e.c.GetWorkflow(ctx, runID, "").Get(ctx, &out); err != nil {
			run.Error = errorInfo(err)
		} else {
			run.Output = out
		}
	}
	for _, pa := range desc.GetPendingActivities() {
		if bookkeepingActivities[pa.GetActivityType().GetName()] {
			continue // the run's own reports are no node's
		}
		ns, ok := run.Nodes[pa.GetActivityId()]
		if !ok {
			if qerr == nil {
				continue
			}
			ns = NodeState{Status: NodeRunning}
		}
		if ns.Status != NodeRunning && ns.Status != NodeWaiting {
			continue
		}
		ns.Attempts = max(ns.Attempts, int(pa.GetAttempt()))
		if f := pa.GetLastFailure(); f != nil {
			typ := f.GetApplicationFailureInfo().GetType()
			if typ == "" {
				typ = "Error"
			}
			ns.Error = &NodeError{Message: fmt.Sprintf("attempt %d failed: %s", pa.GetAttempt()-1, f.GetMessage()), Type: typ}
		}
		run.Nodes[pa.GetActivityId()] = ns
	}
	return run, true, nil
}

func (e *Engine) queryState(ctx context.Context, runID string) (RunState, error) {
	qctx, cancel := context.WithTimeout(ctx, e.opts.QueryTimeout)
	defer cancel()
	var st RunState
	v, err := e.c.QueryWorkflow(qctx, runID, "", StateQuery)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// startInput reads the run's input from its first history event, for when no worker can
// answer the query.
func (e *Engine) startInput(ctx context.Context, runID string) (RunInput, error) {
	var in RunInput
	it := e.c.GetWorkflowHistory(ctx, runID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, errors.New("empty history")
	}
	ev, err := it.Next()
	if err != nil {
		return in, err
	}
	p := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(p) == 0 {
		return in, errors.New("no input")
	}
	return in, converter.GetDefaultDataConverter().FromPayload(p[0], &in)
}

// ListRuns lists runs through Temporal visibility, newest first; the next page token is
// nil on the last page.
func (e *Engine) ListRuns(ctx context.Context, f RunFilter) ([]RunSummary, []byte, error) {
	rows, next, err := e.ListRunRows(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	out := make([]RunSummary, len(rows))
	for i, r := range rows {
		out[i] = r.RunSummary
	}
	return out, next, nil
}

var safeKeyword = regexp.MustCompile(`^[A-Za-z0-9_.:@/-]*$`)

func listQuery(f RunFilter) (string, error) {
	q := []string{fmt.Sprintf("WorkflowType = '%s'", WorkflowName)}
	if f.GraphID != "" {
		if !safeKeyword.MatchString(f.GraphID) {
			return "", fmt.Errorf("graph id %q: %w", f.GraphID, ErrBadFilter)
		}
		q = append(q, fmt.Sprintf("%s = '%s'", SAGraph, f.GraphID))
	}
	if f.Version < 0 || (f.Drafts && f.Version > 0) {
		return "", fmt.Errorf("version %d: %w", f.Version, ErrBadFilter)
	}
	switch {
	case f.Drafts:
		q = append(q, draftRuns)
	case f.Version > 0:
		q = append(q, fmt.Sprintf("%s = %d", SAVersion, f.Version))
	default:
		q = append(q, notDraftRuns)
	}
	switch f.Status {
	case "":
	case RunRunning, RunWaiting, RunHeld, RunPaused:
		q = append(q, "ExecutionStatus = 'Running'", fmt.Sprintf("%s = '%s'", SAStatus, f.Status))
	case RunCompleted:
		q = append(q, "ExecutionStatus = 'Completed'")
	case RunFailed:
		q = append(q, "(ExecutionStatus = 'Failed' OR ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut')")
	case RunCancelled:
		q = append(q, "ExecutionStatus = 'Canceled'")
	default:
		return "", fmt.Errorf("status %q: %w", f.Status, ErrBadFilter)
	}
	return strings.Join(q, " AND "), nil
}

// CancelRun asks a run to stop; nodes in flight are cancelled, subgraph runs too.
func (e *Engine) CancelRun(ctx context.Context, runID, reason string) error {
	desc, err := e.c.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		return e.notFound(runID, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("cancel run %s: %w", runID, ErrRunClosed)
	}
	_, err = e.c.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
		Namespace:         e.opts.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: runID},
		Identity:          "trellis",
		Reason:            reason,
	})
	var already *serviceerror.CancellationAlreadyRequested
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("cancel run %s: %w", runID, e.notFound(runID, err))
	}
	return nil
}

func (e *Engine) notFound(runID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("run %s: %w", runID, ErrRunNotFound)
	}
	return fmt.Errorf("run %s: %w", runID, err)
}

func runStatus(s enumspb.WorkflowExecutionStatus, saStatus string) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if liveStatus(saStatus) {
			return saStatus
		}
		return RunRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return RunCompleted
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return RunCancelled
	default:
		return RunFailed
	}
}

// draftRuns and notDraftRuns pick draft test runs out of visibility, or leave them out; a
// run without the version attribute (started by another tool) is not a draft.
var (
	draftRuns    = fmt.Sprintf("%s = %d", SAVersion, DraftVersion)
	notDraftRuns = fmt.Sprintf("(%s > %d OR %s IS NULL)", SAVersion, DraftVersion, SAVersion)
)

type runAttrs struct {
	graph, startedBy, status string
	version                  int
	hasVersion               bool
	tokens                   *int64
	cost                     *float64
}

// draft says whether the attributes are those of a draft test run.
func (a runAttrs) draft() bool { return a.hasVersion && a.version == DraftVersion && a.graph != "" }

func decodeSearchAttributes(sa *commonpb.SearchAttributes) runAttrs {
	var a runAttrs
	dc := converter.GetDefaultDataConverter()
	fields := sa.GetIndexedFields()
	if p, ok := fields[SAGraph]; ok {
		_ = dc.FromPayload(p, &a.graph)
	}
	if p, ok := fields[SAStartedBy]; ok {
		_ = dc.FromPayload(p, &a.startedBy)
	}
	if p, ok := fields[SAStatus]; ok {
		_ = dc.FromPayload(p, &a.status)
	}
	if p, ok := fields[SAVersion]; ok {
		var v int64
		if dc.FromPayload(p, &v) == nil {
			a.version, a.hasVersion = int(v), true
		}
	}
	if p, ok := fields[SATokens]; ok {
		var v int64
		if dc.FromPayload(p, &v) == nil {
			a.tokens = &v
		}
	}
	if p, ok := fields[SACost]; ok {
		var v float64
		if dc.FromPayload(p, &v) == nil {
			a.cost = &v
		}
	}
	return a
}

// EnsureSearchAttributes registers the Trellis search attributes on a namespace that lacks
// them: an external cluster, or a data dir created by an older build. StartServer
// registers them on a new data dir already.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	if namespace == "" {
		namespace = Namespace
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("search attribute %s is %s on namespace %s, want %s", name, got, namespace, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx,
		&operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	// The frontend learns of them when its namespace cache refreshes (seconds); until
	// then starting a run fails. A visibility query naming them fails the same way.
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		probe := fmt.Sprintf("%s = 'probe'", name)
		if t := missing[name]; t == enumspb.INDEXED_VALUE_TYPE_INT || t == enumspb.INDEXED_VALUE_TYPE_DOUBLE {
			probe = fmt.Sprintf("%s = 0", name)
		}
		for {
			_, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: namespace, PageSize: 1, Query: probe})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for search attribute %s: %w", name, err)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
