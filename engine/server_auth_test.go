package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// The embedded frontend with a token: a client without it is refused, one with it works,
// and the server's own system workers still run schedules (through the internal frontend).
func TestEmbeddedFrontendWantsTheToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	srv, err := StartServer(ServerConfig{DataDir: t.TempDir(), Token: "test-frontend-token", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	for _, creds := range []client.Credentials{nil, client.NewAPIKeyStaticCredentials("wrong")} {
		c, err := client.DialContext(ctx, client.Options{HostPort: srv.HostPort(), Namespace: Namespace,
			Credentials: creds, ConnectionOptions: client.ConnectionOptions{TLSDisabled: true}, Logger: NewSDKLogger(quietLogger())})
		if err == nil {
			_, err = c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: Namespace})
			c.Close()
		}
		var denied *serviceerror.PermissionDenied
		if !errors.As(err, &denied) {
			t.Fatalf("a client with credentials %v: err = %v, want PermissionDenied", creds, err)
		}
	}

	var c client.Client
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		c, err = client.DialContext(ctx, srv.ClientOptions(client.Options{Namespace: Namespace, Logger: NewSDKLogger(quietLogger())}))
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("dial with the token: %v", err)
	}
	defer c.Close()
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   "auth-test",
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "auth-test-run", Workflow: "nobody-runs-this",
			TaskQueue: "auth-test"},
	})
	if err != nil {
		t.Fatalf("create a schedule: %v", err)
	}
	for {
		d, err := h.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the schedule never started its workflow: %+v, %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
