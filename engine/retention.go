package engine

import (
	"context"
	"fmt"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DefaultRetention is how long the embedded server keeps an ended run's history, which its
// run page, timeline and rewind read. Temporal's own default for a new namespace is a day,
// too short to find out next week why a run failed.
const DefaultRetention = 30 * 24 * time.Hour

// MinRetention is Temporal's least retention (system.namespaceMinRetentionGlobal).
const MinRetention = 24 * time.Hour

// EnsureRetention sets the namespace's retention of ended runs to d when it differs. The
// server applies it to runs as they end, so runs that ended before keep the retention they
// ended under.
func EnsureRetention(ctx context.Context, c client.Client, namespace string, d time.Duration) error {
	if d < MinRetention {
		return fmt.Errorf("retention %s is less than Temporal's least, %s", d, MinRetention)
	}
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == d {
		return nil
	}
	_, err = c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: namespace,
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(d)}})
	if err != nil {
		return fmt.Errorf("set the retention of namespace %s: %w", namespace, err)
	}
	return nil
}
