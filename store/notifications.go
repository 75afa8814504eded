package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Notification events: a task was created for someone, escalated to someone, or is overdue.
const (
	NotifyCreated   = "created"
	NotifyEscalated = "escalated"
	NotifyOverdue   = "overdue"
)

// NotifyEvents are the events a user may choose, in order.
var NotifyEvents = []string{NotifyCreated, NotifyEscalated, NotifyOverdue}

// Secrets that hold the notification passwords, set with the settings.
const (
	SMTPPasswordSecret  = "SMTP_PASSWORD"
	NotifyWebhookSecret = "NOTIFY_WEBHOOK_SECRET"
)

// SMTP security modes.
var SMTPSecurities = []string{"starttls", "tls", "none"}

// NotifySettings is how Trellis sends notifications. PasswordSet and WebhookSecretSet say
// whether the secrets have values; the values are never read through this type.
type NotifySettings struct {
	SMTPHost         string    `json:"smtp_host"`
	SMTPPort         int       `json:"smtp_port"`
	SMTPSecurity     string    `json:"smtp_security"`
	SMTPUser         string    `json:"smtp_user"`
	MailFrom         string    `json:"mail_from"`
	BaseURL          string    `json:"base_url"`
	WebhookURL       string    `json:"webhook_url"`
	PasswordSet      bool      `json:"password_set"`
	WebhookSecretSet bool      `json:"webhook_secret_set"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// MailConfigured reports whether mail can be sent at all.
func (s *NotifySettings) MailConfigured() bool { return s.SMTPHost != "" && s.MailFrom != "" }

// ValidateNotifySettings checks settings before they are stored.
func ValidateNotifySettings(s NotifySettings) error {
	switch {
	case len(s.SMTPHost) > 253 || strings.ContainsAny(s.SMTPHost, " /:@"):
		return invalidf("smtp host %q is not a host name", s.SMTPHost)
	case s.SMTPPort < 1 || s.SMTPPort > 65535:
		return invalidf("smtp port must be from 1 to 65535")
	case !slices.Contains(SMTPSecurities, s.SMTPSecurity):
		return invalidf("smtp security must be starttls, tls or none")
	case len(s.SMTPUser) > 200:
		return invalidf("the smtp user may be at most 200 characters")
	}
	if s.MailFrom != "" {
		if _, err := mail.ParseAddress(s.MailFrom); err != nil {
			return invalidf("sender %q is not a mail address", s.MailFrom)
		}
	}
	for name, u := range map[string]string{"base URL": s.BaseURL, "webhook URL": s.WebhookURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > 2000 {
			return invalidf("the %s must be an http or https URL", name)
		}
	}
	return nil
}

// GetNotifySettings returns the settings (defaults when never set).
func (db *DB) GetNotifySettings(ctx context.Context) (*NotifySettings, error) {
	s := &NotifySettings{SMTPPort: 587, SMTPSecurity: "starttls"}
	var updated int64
	var pwSecret, hookSecret string
	err := db.db.QueryRowContext(ctx, `SELECT smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_secret, mail_from,
		base_url, webhook_url, webhook_secret, updated_at FROM notify_settings WHERE id = 1`).Scan(&s.SMTPHost, &s.SMTPPort,
		&s.SMTPSecurity, &s.SMTPUser, &pwSecret, &s.MailFrom, &s.BaseURL, &s.WebhookURL, &hookSecret, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify settings: %w", err)
	}
	s.UpdatedAt, s.PasswordSet, s.WebhookSecretSet = fromNanos(updated), pwSecret != "", hookSecret != ""
	return s, nil
}

// SetNotifySettings stores the settings; a non-nil password or webhook secret replaces that
// secret ("" clears it). Errors: ErrInvalid.
func (db *DB) SetNotifySettings(ctx context.Context, s NotifySettings, password, webhookSecret *string) error {
	if err := ValidateNotifySettings(s); err != nil {
		return err
	}
	cur, err := db.GetNotifySettings(ctx)
	if err != nil {
		return err
	}
	pw, hook := secretRef(cur.PasswordSet, SMTPPasswordSecret), secretRef(cur.WebhookSecretSet, NotifyWebhookSecret)
	for _, x := range []struct {
		val  *string
		name string
		ref  *string
	}{{password, SMTPPasswordSecret, &pw}, {webhookSecret, NotifyWebhookSecret, &hook}} {
		if x.val == nil {
			continue
		}
		*x.ref = ""
		if *x.val != "" {
			if err := db.SetSecret(ctx, x.name, *x.val); err != nil {
				return err
			}
			*x.ref = x.name
		}
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO notify_settings (id, smtp_host, smtp_port, smtp_security, smtp_user,
		smtp_password_secret, mail_from, base_url, webhook_url, webhook_secret, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port,
		smtp_security = excluded.smtp_security, smtp_user = excluded.smtp_user, smtp_password_secret = excluded.smtp_password_secret,
		mail_from = excluded.mail_from, base_url = excluded.base_url, webhook_url = excluded.webhook_url,
		webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at`,
		s.SMTPHost, s.SMTPPort, s.SMTPSecurity, s.SMTPUser, pw, s.MailFrom, strings.TrimRight(s.BaseURL, "/"), s.WebhookURL, hook, db.nowNanos())
	if err != nil {
		return fmt.Errorf("set notify settings: %w", err)
	}
	return nil
}

func secretRef(set bool, name string) string {
	if set {
		return name
	}
	return ""
}

// UserNotify is a user's notification choices.
type UserNotify struct {
	UserName string   `json:"user"`
	Email    string   `json:"email"`
	Events   []string `json:"events"`
	Digest   bool     `json:"digest"`
}

// Wants reports whether the user wants mail about event.
func (u *UserNotify) Wants(event string) bool {
	return u.Email != "" && slices.Contains(u.Events, event)
}

// GetUserNotify returns a user's choices; a user who never chose has no address and every event.
func (db *DB) GetUserNotify(ctx context.Context, name string) (*UserNotify, error) {
	u := &UserNotify{UserName: name}
	var events string
	var digest int
	err := db.db.QueryRowContext(ctx, `SELECT email, events, digest FROM user_notify WHERE user_name = ?`, name).Scan(&u.Email, &events, &digest)
	if errors.Is(err, sql.ErrNoRows) {
		u.Events = slices.Clone(NotifyEvents)
		return u, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify choices of %s: %w", name, err)
	}
	u.Digest = digest == 1
	if events != "" {
		u.Events = strings.Split(events, ",")
	}
	return u, nil
}

// SetUserNotify stores a user's choices. Errors: ErrInvalid for a bad address or event.
func (db *DB) SetUserNotify(ctx context.Context, u UserNotify) error {
	u.Email = strings.TrimSpace(u.Email)
	if u.Email != "" {
		a, err := mail.ParseAddress(u.Email)
		if err != nil || a.Address != u.Email || len(u.Email) > 254 {
			return invalidf("%q is not a mail address (write it as name@example.com)", u.Email)
		}
	}
	var events []string
	for _, e := range NotifyEvents {
		if slices.Contains(u.Events, e) {
			events = append(events, e)
		}
	}
	if len(events) != len(slices.Compact(slices.Sorted(slices.Values(u.Events)))) {
		return invalidf("events must be among %s", strings.Join(NotifyEvents, ", "))
	}
	digest := 0
	if u.Digest {
		digest = 1
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO user_notify (user_name, email, events, digest, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_name) DO UPDATE SET email = excluded.email, events = excluded.events, digest = excluded.digest,
		updated_at = excluded.updated_at`, u.UserName, u.Email, strings.Join(events, ","), digest, db.nowNanos())
	if err != nil {
		return fmt.Errorf("set notify choices of %s: %w", u.UserName, err)
	}
	return nil
}

// AssigneeUsers are the enabled users a task's assignee names: the user, or a group's members.
func (db *DB) AssigneeUsers(ctx context.Context, assignee string) ([]string, error) {
	kind, name, _ := strings.Cut(assignee, ":")
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if u.Disabled() {
			continue
		}
		if (kind == "user" && u.Name == name) || (kind == "group" && u.InGroup(name)) {
			out = append(out, u.Name)
		}
	}
	return out, nil
}
