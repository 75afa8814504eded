package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// mailTimeout bounds one conversation with the SMTP server.
const mailTimeout = 30 * time.Second

// newMailClient is a go-mail client for the settings: STARTTLS required, implicit TLS, or
// plain (none); PLAIN or LOGIN authentication (whichever the server offers) with a user.
func newMailClient(s *NotifySettings) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(s.SMTPPort), mail.WithTimeout(mailTimeout)}
	switch s.SMTPSecurity {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.SMTPUser != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.SMTPUser), mail.WithPassword(s.SMTPPassword))
	}
	c, err := mail.NewClient(s.SMTPHost, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail client: %w", err)
	}
	return c, nil
}

// TaskLink is the address of a task's page.
func TaskLink(baseURL, taskID string) string {
	return strings.TrimRight(baseURL, "/") + "/tasks/" + url.PathEscape(taskID)
}

var eventWords = map[string]string{
	"created":   "A task is waiting for you",
	"escalated": "A task was escalated to you",
	"overdue":   "A task of yours is overdue",
}

// mailText is a mail's subject and plain-text body.
func mailText(s *NotifySettings, d Digest) (string, string) {
	var b strings.Builder
	if len(d.Notices) == 1 {
		n := d.Notices[0]
		fmt.Fprintf(&b, "%s: %s\n\nOpen it: %s\n\nGraph %s, run %s.\n", eventWords[n.Event], n.Title, TaskLink(s.BaseURL, n.TaskID), n.GraphID, n.RunID)
		return "[Trellis] " + eventWords[n.Event] + ": " + n.Title, b.String()
	}
	fmt.Fprintf(&b, "%d tasks since the last digest:\n\n", len(d.Notices))
	for _, n := range d.Notices {
		fmt.Fprintf(&b, "- %s (%s): %s\n", n.Title, n.Event, TaskLink(s.BaseURL, n.TaskID))
	}
	return fmt.Sprintf("[Trellis] Your daily digest: %d tasks", len(d.Notices)), b.String()
}

// sendMail sends one mail about d's notices to d.To.
func sendMail(ctx context.Context, s *NotifySettings, d Digest) error {
	if s.SMTPHost == "" || s.MailFrom == "" {
		return fmt.Errorf("no mail server is set up (admin: Notifications)")
	}
	m := mail.NewMsg()
	if err := m.From(s.MailFrom); err != nil {
		return fmt.Errorf("sender %q: %w", s.MailFrom, err)
	}
	if err := m.To(d.To); err != nil {
		return fmt.Errorf("recipient %q: %w", d.To, err)
	}
	subject, body := mailText(s, d)
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, body)
	c, err := newMailClient(s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	return c.DialAndSendWithContext(ctx, m)
}

// SendTestMail sends a test mail to one address and returns the server's error as it
// answered (nil when the mail was accepted), for the admin page.
func SendTestMail(ctx context.Context, s *NotifySettings, to string) error {
	return sendMail(ctx, s, Digest{To: to, Notices: []Notice{{Event: "created", Title: "Test mail from Trellis", TaskID: "test"}}})
}

// WebhookPayload is the JSON the outbound webhook gets.
type WebhookPayload struct {
	Event    string `json:"event"`
	TaskID   string `json:"task_id"`
	Title    string `json:"title"`
	Assignee string `json:"assignee"`
	RunID    string `json:"run_id"`
	GraphID  string `json:"graph_id"`
	URL      string `json:"url"`
	Text     string `json:"text"`
}

// postWebhook sends a notice to the outbound webhook, signed like inbound hooks:
// X-Trellis-Signature: sha256=HEX of the body with the webhook secret. The call goes through
// the outbound policy of d (serve --http-allow-private, --http-allow), like an http node's:
// an admin's webhook URL must not reach the metadata service or Trellis's own listeners.
func postWebhook(ctx context.Context, d *Deps, s *NotifySettings, n Notice) error {
	if s.WebhookURL == "" {
		return fmt.Errorf("no outbound webhook is set up")
	}
	link := TaskLink(s.BaseURL, n.TaskID)
	body, err := json.Marshal(WebhookPayload{Event: n.Event, TaskID: n.TaskID, Title: n.Title, Assignee: n.Assignee,
		RunID: n.RunID, GraphID: n.GraphID, URL: link, Text: eventWords[n.Event] + ": " + n.Title + " " + link})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.WebhookSecret != "" {
		m := hmac.New(sha256.New, []byte(s.WebhookSecret))
		m.Write(body)
		req.Header.Set("X-Trellis-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	hc, done := guardedClient(d.HTTPClient, d.Outbound)
	defer done()
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
