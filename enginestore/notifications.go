package enginestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"trellis/engine"
	"trellis/store"
)

// Notifications is the engine's NotificationStore over the store: who is told what about a
// task, by their own choices, and the deliveries page's records of each attempt.
type Notifications struct{ *store.DB }

var _ engine.NotificationStore = Notifications{}

// PlanNotices records a notice for each assignee who wants mail about the event (a digest
// one waits) and one for the outbound webhook, and returns those to send now. The keys come
// from the event, so a retried plan finds the same rows and sends nothing twice.
func (n Notifications) PlanNotices(ctx context.Context, ev engine.TaskEvent) ([]engine.Notice, error) {
	task, err := n.GetTask(ctx, ev.TaskID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	settings, err := n.GetNotifySettings(ctx)
	if err != nil {
		return nil, err
	}
	assignee := ev.Assignee
	if assignee == "" {
		assignee = task.Assignee
	}
	users, err := n.AssigneeUsers(ctx, assignee)
	if err != nil {
		return nil, err
	}
	base := engine.Notice{Event: ev.Event, TaskID: task.ID, Title: task.Title, Assignee: assignee, RunID: task.RunID, GraphID: task.GraphID}
	eventKey := ev.Event + "/" + task.ID + "/" + assignee
	var out []engine.Notice
	for _, name := range users {
		choice, err := n.GetUserNotify(ctx, name)
		if err != nil {
			return nil, err
		}
		if !choice.Wants(ev.Event) || !settings.MailConfigured() {
			continue
		}
		nt := base
		nt.Key, nt.Channel, nt.To = "mail/"+eventKey+"/"+name, "email", choice.Email
		d, err := n.AddNotifyDelivery(ctx, store.NotifyDelivery{Key: nt.Key, Channel: nt.Channel, Recipient: nt.To, Event: nt.Event,
			TaskID: nt.TaskID, Title: nt.Title, Digest: choice.Digest})
		if err != nil {
			return nil, err
		}
		if d.State == store.DeliveryPending && !d.Digest {
			nt.CreatedAt = d.CreatedAt
			out = append(out, nt)
		}
	}
	if settings.WebhookURL != "" {
		nt := base
		nt.Key, nt.Channel = "hook/"+eventKey, "webhook"
		d, err := n.AddNotifyDelivery(ctx, store.NotifyDelivery{Key: nt.Key, Channel: nt.Channel, Recipient: settings.WebhookURL,
			Event: nt.Event, TaskID: nt.TaskID, Title: nt.Title})
		if err != nil {
			return nil, err
		}
		if d.State == store.DeliveryPending {
			out = append(out, nt)
		}
	}
	return out, nil
}

// NotifySettings returns the settings with the password and webhook secret read.
func (n Notifications) NotifySettings(ctx context.Context) (*engine.NotifySettings, error) {
	s, err := n.GetNotifySettings(ctx)
	if err != nil {
		return nil, err
	}
	out := &engine.NotifySettings{SMTPHost: s.SMTPHost, SMTPPort: s.SMTPPort, SMTPSecurity: s.SMTPSecurity, SMTPUser: s.SMTPUser,
		MailFrom: s.MailFrom, BaseURL: s.BaseURL, WebhookURL: s.WebhookURL}
	if s.PasswordSet {
		if out.SMTPPassword, err = n.Secret(ctx, store.SMTPPasswordSecret); err != nil {
			return nil, fmt.Errorf("smtp password: %w", err)
		}
	}
	if s.WebhookSecretSet {
		if out.WebhookSecret, err = n.Secret(ctx, store.NotifyWebhookSecret); err != nil {
			return nil, fmt.Errorf("webhook secret: %w", err)
		}
	}
	return out, nil
}

// MarkNotices records an attempt.
func (n Notifications) MarkNotices(ctx context.Context, keys []string, state string, attempts int, errText string) error {
	return n.MarkNotifyDelivery(ctx, keys, state, attempts, errText)
}

// TaskOverdue reports whether a task is still open and due at or before at.
func (n Notifications) TaskOverdue(ctx context.Context, taskID string, at time.Time) (bool, error) {
	t, err := n.GetTask(ctx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.State == "open" && t.DueAt != nil && !t.DueAt.After(at), nil
}

// DigestNotices gathers the pending digest notices by recipient address.
func (n Notifications) DigestNotices(ctx context.Context) ([]engine.Digest, error) {
	pending, err := n.PendingDigest(ctx)
	if err != nil {
		return nil, err
	}
	var out []engine.Digest
	for _, d := range pending {
		if len(out) == 0 || out[len(out)-1].To != d.Recipient {
			out = append(out, engine.Digest{To: d.Recipient})
		}
		last := &out[len(out)-1]
		last.Notices = append(last.Notices, engine.Notice{Key: d.Key, Channel: d.Channel, To: d.Recipient, Event: d.Event,
			TaskID: d.TaskID, Title: d.Title, CreatedAt: d.CreatedAt})
	}
	return out, nil
}

// NotifyingTasks is Tasks that also starts the notifications of a created or escalated task
// (from within the store activity, so a retried activity starts them once).
type NotifyingTasks struct{ Tasks }

// OpenTask stores the task and starts its notification.
func (s NotifyingTasks) OpenTask(ctx context.Context, t engine.NewTask) (string, error) {
	id, err := s.Tasks.OpenTask(ctx, t)
	if err != nil {
		return "", err
	}
	if err := s.notify(ctx, engine.TaskEvent{Event: store.NotifyCreated, TaskID: id, DueAt: t.DueAt, Assignee: t.Assignee}); err != nil {
		return "", fmt.Errorf("start notification of task %s: %w", id, err)
	}
	return id, nil
}

// notify starts the event's notification workflow, unless it would have nothing to do: no
// due time to watch and no notice to send now (no mail or webhook set up, nobody who wants
// mail about it, or only digest readers). Most tasks are so, and a workflow for each was a
// third of the work of opening a task. The workflow plans again, which is idempotent.
func (s NotifyingTasks) notify(ctx context.Context, ev engine.TaskEvent) error {
	if ev.DueAt == nil {
		notices, err := Notifications{DB: s.DB}.PlanNotices(ctx, ev)
		if err != nil {
			return err
		}
		if len(notices) == 0 {
			return nil
		}
	}
	return engine.StartTaskNotification(ctx, ev)
}

// Escalate reassigns the task and starts the notification of its new assignee.
func (s NotifyingTasks) Escalate(ctx context.Context, runID, nodeID, assignee string, due *time.Time) error {
	if err := s.Tasks.Escalate(ctx, runID, nodeID, assignee, due); err != nil {
		return err
	}
	t, err := s.GetTaskByNode(ctx, runID, nodeID)
	if err != nil {
		return err
	}
	return s.notify(ctx, engine.TaskEvent{Event: store.NotifyEscalated, TaskID: t.ID, DueAt: due, Assignee: assignee})
}
