package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// TestEnsureRetention: the embedded namespace starts with Temporal's one-day retention;
// EnsureRetention sets what serve asks for, leaves it alone when it is already so, and
// refuses less than Temporal's least.
func TestEnsureRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded server")
	}
	cl := startCluster(t, t.TempDir(), Deps{})
	ctx := context.Background()
	retention := func() time.Duration {
		ns, err := cl.c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: Namespace})
		if err != nil {
			t.Fatal(err)
		}
		return ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	}
	if got := retention(); got != MinRetention {
		t.Fatalf("a new namespace keeps ended runs %s, want Temporal's default %s", got, MinRetention)
	}
	if err := EnsureRetention(ctx, cl.c, Namespace, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	if got := retention(); got != DefaultRetention {
		t.Fatalf("retention after EnsureRetention = %s, want %s", got, DefaultRetention)
	}
	if err := EnsureRetention(ctx, cl.c, Namespace, DefaultRetention); err != nil {
		t.Fatalf("again: %v", err)
	}
	err := EnsureRetention(ctx, cl.c, Namespace, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "less than Temporal's least") {
		t.Fatalf("an hour: %v, want a refusal", err)
	}
	if got := retention(); got != DefaultRetention {
		t.Fatalf("retention after a refused change = %s", got)
	}
}
