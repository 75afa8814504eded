package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Notifications tell people they have work: a task created for them, escalated to them, or
// overdue. Each is sent by a small workflow (NotifyWorkflowName) started with a
// deterministic id from the store activity that changed the task, so a run never waits on a
// mail server, a retried activity starts no second one, and a restart loses nothing: the
// workflow's activities retry sending, and record each attempt for the deliveries page.
const (
	NotifyWorkflowName = "trellis.notify"
	DigestWorkflowName = "trellis.digest"
	// DigestScheduleID is the Temporal schedule that sends the daily digests.
	DigestScheduleID = "trellis-digest"
)

const (
	activityNotifyPlan   = "notify.plan"
	activityNotifySend   = "notify.send"
	activityNotifyFailed = "notify.failed"
	activityNotifyOpen   = "notify.open"
	activityDigestPlan   = "notify.digest"
)

// TaskEvent is what happened to a task.
type TaskEvent struct {
	Event  string `json:"event"` // created, escalated, overdue
	TaskID string `json:"task_id"`
	// DueAt, for a created task, is when it becomes overdue.
	DueAt *time.Time `json:"due_at,omitempty"`
	// Assignee is who the task went to (the new one for escalated).
	Assignee string `json:"assignee"`
}

// Notice is one notification to send: a mail to one address, or the outbound webhook.
type Notice struct {
	Key       string    `json:"key"`
	Channel   string    `json:"channel"` // email or webhook
	To        string    `json:"to"`      // mail address; "" for the webhook
	Event     string    `json:"event"`
	TaskID    string    `json:"task_id"`
	Title     string    `json:"title"`
	Assignee  string    `json:"assignee"`
	RunID     string    `json:"run_id"`
	GraphID   string    `json:"graph_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Digest is one recipient's notices gathered into one mail.
type Digest struct {
	To      string   `json:"to"`
	Notices []Notice `json:"notices"`
}

// NotifySettings are what sending needs: the SMTP server and its password, the sender, the
// base URL of task links, the outbound webhook and its secret.
type NotifySettings struct {
	SMTPHost, SMTPSecurity, SMTPUser, SMTPPassword, MailFrom string
	SMTPPort                                                 int
	BaseURL, WebhookURL, WebhookSecret                       string
}

// NotificationStore is what notifications need of the store (enginestore.Notifications).
type NotificationStore interface {
	// PlanNotices records the notices an event calls for (by the recipients' choices) and
	// returns those to send now; notices for a digest wait for it. Idempotent per event.
	PlanNotices(ctx context.Context, ev TaskEvent) ([]Notice, error)
	// NotifySettings returns the settings with the secrets' values.
	NotifySettings(ctx context.Context) (*NotifySettings, error)
	// MarkNotices records an attempt: sent, failed for good, or (neither) failed for now.
	MarkNotices(ctx context.Context, keys []string, state string, attempts int, errText string) error
	// TaskOverdue reports whether a task is still open with its due time at or before at.
	TaskOverdue(ctx context.Context, taskID string, at time.Time) (bool, error)
	// DigestNotices gathers the notices waiting for a digest, one Digest per recipient.
	DigestNotices(ctx context.Context) ([]Digest, error)
}

func init() {
	registerStoreActivity(activityNotifyPlan, func(d *Deps) any { return (&notifyActivities{d: d}).plan })
	registerStoreActivity(activityNotifySend, func(d *Deps) any { return (&notifyActivities{d: d}).send })
	registerStoreActivity(activityNotifyFailed, func(d *Deps) any { return (&notifyActivities{d: d}).failed })
	registerStoreActivity(activityNotifyOpen, func(d *Deps) any { return (&notifyActivities{d: d}).open })
	registerStoreActivity(activityDigestPlan, func(d *Deps) any { return (&notifyActivities{d: d}).digest })
}

// StartTaskNotification starts the workflow that notifies about a task event. Called from a
// store activity (it uses the activity's client); its workflow id is made from the event, so
// a retried activity starts it once.
func StartTaskNotification(ctx context.Context, ev TaskEvent) error {
	info := activity.GetInfo(ctx)
	queue := strings.TrimSuffix(info.TaskQueue, StoreQueueSuffix)
	id := "notify-" + ev.TaskID + "-" + ev.Event
	if ev.Event == "escalated" {
		due := ""
		if ev.DueAt != nil {
			due = ev.DueAt.UTC().Format(time.RFC3339Nano)
		}
		sum := sha256.Sum256([]byte(ev.Assignee + "|" + due))
		id += "-" + hex.EncodeToString(sum[:6])
	}
	_, err := activity.GetClient(ctx).ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                queue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            fmt.Sprintf("notify: task %s %s", ev.TaskID, ev.Event),
	}, NotifyWorkflowName, ev)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// notifySendOptions retry a send for about 15 minutes: long enough for a mail server's
// restart, short enough that a failure shows on the deliveries page the same hour.
func notifySendOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           StoreTaskQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: NotifyAttempts},
	})
}

// NotifyAttempts is how often a notice is tried before it is shown as failed.
const NotifyAttempts = 6

func storeOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           StoreTaskQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
}

// NotifyWorkflow sends an event's notices; for a task with a due time it waits (durably)
// until then and, if the task is still open and due, sends the overdue notices to whoever
// has it then.
func NotifyWorkflow(ctx workflow.Context, ev TaskEvent) error {
	if err := sendNotices(ctx, ev); err != nil {
		return err
	}
	if ev.Event == "overdue" || ev.DueAt == nil {
		return nil
	}
	if wait := ev.DueAt.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	var overdue bool
	req := overdueRequest{TaskID: ev.TaskID, At: workflow.Now(ctx)}
	if err := workflow.ExecuteActivity(storeOptions(ctx), activityNotifyOpen, req).Get(ctx, &overdue); err != nil || !overdue {
		return err
	}
	return sendNotices(ctx, TaskEvent{Event: "overdue", TaskID: ev.TaskID})
}

type overdueRequest struct {
	TaskID string    `json:"task_id"`
	At     time.Time `json:"at"`
}

func sendNotices(ctx workflow.Context, ev TaskEvent) error {
	var notices []Notice
	if err := workflow.ExecuteActivity(storeOptions(ctx), activityNotifyPlan, ev).Get(ctx, &notices); err != nil {
		return err
	}
	// One after another, in the plan's order: a handful of recipients at most.
	for _, n := range notices {
		sendOne(ctx, Digest{To: n.To, Notices: []Notice{n}})
	}
	return nil
}

// sendOne sends a mail (or webhook call) and marks its notices failed when every retry failed.
func sendOne(ctx workflow.Context, d Digest) {
	err := workflow.ExecuteActivity(notifySendOptions(ctx), activityNotifySend, d).Get(ctx, nil)
	if err == nil {
		return
	}
	keys := make([]string, 0, len(d.Notices))
	for _, n := range d.Notices {
		keys = append(keys, n.Key)
	}
	_ = workflow.ExecuteActivity(storeOptions(ctx), activityNotifyFailed, failedNotices{Keys: keys, Error: rootMessage(err)}).Get(ctx, nil)
}

type failedNotices struct {
	Keys  []string `json:"keys"`
	Error string   `json:"error"`
}

// rootMessage is the message of the error at the bottom of an activity failure.
func rootMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// DigestWorkflow sends each recipient waiting for a digest one mail with their notices.
func DigestWorkflow(ctx workflow.Context) error {
	var digests []Digest
	if err := workflow.ExecuteActivity(storeOptions(ctx), activityDigestPlan).Get(ctx, &digests); err != nil {
		return err
	}
	for _, d := range digests {
		sendOne(ctx, d)
	}
	return nil
}

type notifyActivities struct{ d *Deps }

func (a *notifyActivities) store(ctx context.Context) (NotificationStore, error) {
	if a.d.Notifications == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no notification store", "NotifyError", nil)
	}
	return a.d.Notifications, nil
}

func (a *notifyActivities) plan(ctx context.Context, ev TaskEvent) ([]Notice, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	return st.PlanNotices(ctx, ev)
}

func (a *notifyActivities) open(ctx context.Context, req overdueRequest) (bool, error) {
	st, err := a.store(ctx)
	if err != nil {
		return false, err
	}
	return st.TaskOverdue(ctx, req.TaskID, req.At)
}

func (a *notifyActivities) digest(ctx context.Context) ([]Digest, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	return st.DigestNotices(ctx)
}

func (a *notifyActivities) failed(ctx context.Context, f failedNotices) error {
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	return st.MarkNotices(ctx, f.Keys, "failed", NotifyAttempts, f.Error)
}

// send sends one mail or webhook call and records the attempt either way.
func (a *notifyActivities) send(ctx context.Context, d Digest) error {
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(d.Notices))
	for _, n := range d.Notices {
		keys = append(keys, n.Key)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	settings, err := st.NotifySettings(ctx)
	if err == nil {
		if len(d.Notices) > 0 && d.Notices[0].Channel == "webhook" {
			err = postWebhook(ctx, a.d, settings, d.Notices[0])
		} else {
			err = sendMail(ctx, settings, d)
		}
	}
	if err != nil {
		_ = st.MarkNotices(ctx, keys, "pending", attempt, err.Error())
		return err
	}
	return st.MarkNotices(ctx, keys, "sent", attempt, "")
}

// EnsureDigestSchedule creates the daily digest schedule (at 08:00 in the time zone) unless
// it exists.
func (e *Engine) EnsureDigestSchedule(ctx context.Context, timeZone string) error {
	_, err := e.c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   DigestScheduleID,
		Spec: client.ScheduleSpec{CronExpressions: []string{"0 8 * * *"}, TimeZoneName: timeZone},
		Action: &client.ScheduleWorkflowAction{ID: "digest", Workflow: DigestWorkflowName, TaskQueue: e.opts.TaskQueue,
			StaticSummary: "daily digest of tasks"},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	return err
}

// registerNotifyWorkflows registers the notification workflows on a worker.
func registerNotifyWorkflows(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(NotifyWorkflow, workflow.RegisterOptions{Name: NotifyWorkflowName})
	r.RegisterWorkflowWithOptions(DigestWorkflow, workflow.RegisterOptions{Name: DigestWorkflowName})
}
