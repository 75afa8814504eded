package web

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"trellis/designer"
	"trellis/engine"
)

// synthHistory writes the history a completed run of a layered graph of n nodes would have:
// ten nodes a layer, each after one or two nodes of the layer before; every seventh node a
// wait (a timer), every fifth a transform (a local activity marker), the rest http nodes of
// which every eleventh needed a second attempt. It stands in for a recorded history of a
// size the embedded server would take minutes to produce.
func synthHistory(tb testing.TB, n int) (designer.Graph, []*historypb.HistoryEvent) {
	tb.Helper()
	g := designer.Graph{Format: designer.Format, Name: fmt.Sprintf("synth %d", n)}
	const width = 10
	for i := range n {
		id := fmt.Sprintf("n%03d", i)
		kind, cfg := designer.KindHTTP, `{"url": "https://example.com/items/{{ input.n }}"}`
		switch {
		case i%7 == 3:
			kind, cfg = designer.KindWait, `{"duration": "2s"}`
		case i%5 == 1:
			kind, cfg = designer.KindTransform, `{"value": "input.n + 1"}`
		}
		g.Nodes = append(g.Nodes, designer.Node{ID: id, Kind: kind, Label: fmt.Sprintf("Step %d of layer %d", i%width, i/width),
			Config: json.RawMessage(cfg)})
		if i >= width {
			g.Edges = append(g.Edges, designer.Edge{From: fmt.Sprintf("n%03d", i-width), To: id})
			if i%width > 0 && i%3 == 0 {
				g.Edges = append(g.Edges, designer.Edge{From: fmt.Sprintf("n%03d", i-width-1), To: id})
			}
		}
	}
	in := engine.RunInput{RunID: "run-synth", GraphID: "synth", Version: 3, Definition: g,
		Input: map[string]any{"n": 7}, StartedBy: "bench"}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h := &synth{tb: tb, at: t0}
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: engine.WorkflowName}, Input: h.payloads(in)}}, nil)
	for layer := 0; layer*width < n; layer++ {
		wft := h.workflowTask()
		type open struct {
			id      int64
			i       int
			node    string
			kind    string
			timerID string
		}
		var opened []open
		for i := layer * width; i < min((layer+1)*width, n); i++ {
			node := g.Nodes[i]
			switch node.Kind {
			case designer.KindWait:
				tid := fmt.Sprint(i)
				id := h.add(enumspb.EVENT_TYPE_TIMER_STARTED, &historypb.HistoryEvent_TimerStartedEventAttributes{
					TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{TimerId: tid,
						StartToFireTimeout: durationpb.New(2 * time.Second), WorkflowTaskCompletedEventId: wft}}, h.summary(node.ID))
				opened = append(opened, open{id: id, i: i, node: node.ID, kind: node.Kind, timerID: tid})
			case designer.KindTransform:
				h.at = h.at.Add(time.Millisecond)
				marker := map[string]any{"ActivityID": fmt.Sprint(i), "ActivityType": "transform", "ReplayTime": h.at, "Attempt": 1}
				h.add(enumspb.EVENT_TYPE_MARKER_RECORDED, &historypb.HistoryEvent_MarkerRecordedEventAttributes{
					MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity",
						Details:                      map[string]*commonpb.Payloads{"data": h.payloads(marker), "result": h.payloads(8)},
						WorkflowTaskCompletedEventId: wft}}, h.summary(node.ID))
			default:
				id := h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
					ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{ActivityId: node.ID,
						ActivityType: &commonpb.ActivityType{Name: "http"},
						Input: h.payloads(map[string]any{"run_id": in.RunID, "node_id": node.ID, "config": node.Config,
							"scope": map[string]any{"input": in.Input}}),
						WorkflowTaskCompletedEventId: wft}}, h.summary(node.ID))
				opened = append(opened, open{id: id, i: i, node: node.ID, kind: node.Kind})
			}
		}
		h.at = h.at.Add(40 * time.Millisecond)
		for k := range opened {
			o := &opened[k]
			if o.kind != designer.KindHTTP {
				continue
			}
			attempt := int32(1)
			var last *failurepb.Failure
			if o.i%11 == 0 {
				attempt = 2
				last = &failurepb.Failure{Message: "unexpected HTTP status 503 Service Unavailable (expected 2xx)",
					FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "HTTPStatus"}}}
				h.at = h.at.Add(time.Second)
			}
			h.at = h.at.Add(3 * time.Millisecond)
			st := h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
				ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: o.id,
					Attempt: attempt, LastFailure: last}}, nil)
			h.at = h.at.Add(time.Duration(20+o.i%40) * time.Millisecond)
			h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
				ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: o.id,
					StartedEventId: st, Result: h.payloads(map[string]any{"output": map[string]any{"status": 200, "body": map[string]any{"ok": true}},
						"attempt": attempt})}}, nil)
		}
		for _, o := range opened {
			if o.kind == designer.KindWait {
				h.at = h.at.Add(10 * time.Millisecond)
				h.add(enumspb.EVENT_TYPE_TIMER_FIRED, &historypb.HistoryEvent_TimerFiredEventAttributes{
					TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{TimerId: o.timerID, StartedEventId: o.id}}, nil)
			}
		}
	}
	wft := h.workflowTask()
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{
		WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{
			Result: h.payloads(map[string]any{"ok": true}), WorkflowTaskCompletedEventId: wft}}, nil)
	return g, h.events
}

type synth struct {
	tb     testing.TB
	at     time.Time
	events []*historypb.HistoryEvent
}

func (h *synth) add(t enumspb.EventType, attrs any, meta *sdkpb.UserMetadata) int64 {
	h.at = h.at.Add(100 * time.Microsecond)
	ev := &historypb.HistoryEvent{EventId: int64(len(h.events) + 1), EventTime: timestamppb.New(h.at), EventType: t, UserMetadata: meta}
	switch a := attrs.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_WorkflowTaskStartedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_TimerStartedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_TimerFiredEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_MarkerRecordedEventAttributes:
		ev.Attributes = a
	case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
		ev.Attributes = a
	default:
		h.tb.Fatalf("synth: attributes %T", attrs)
	}
	h.events = append(h.events, ev)
	return ev.EventId
}

// workflowTask adds a workflow task's three events and returns the completed event's id.
func (h *synth) workflowTask() int64 {
	s := h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{
		WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{}}, nil)
	h.at = h.at.Add(2 * time.Millisecond)
	st := h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{
		WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{ScheduledEventId: s}}, nil)
	h.at = h.at.Add(5 * time.Millisecond)
	return h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{
		WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{ScheduledEventId: s, StartedEventId: st}}, nil)
}

func (h *synth) payloads(v any) *commonpb.Payloads {
	b, err := json.Marshal(v)
	if err != nil {
		h.tb.Fatal(err)
	}
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: b}}}
}

func (h *synth) summary(s string) *sdkpb.UserMetadata {
	b, _ := json.Marshal(s)
	return &sdkpb.UserMetadata{Summary: &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: b}}
}
