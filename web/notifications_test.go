package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
)

// testNotify is the notification pages' store with the engine's test mail, as serve wires it.
type testNotify struct{ *store.DB }

func (n testNotify) SendTestMail(ctx context.Context, to string) error {
	s, err := enginestore.Notifications{DB: n.DB}.NotifySettings(ctx)
	if err != nil {
		return err
	}
	return engine.SendTestMail(ctx, s, to)
}

type smtpBox struct {
	mu  sync.Mutex
	got []string
}

type smtpSession struct{ box *smtpBox }

func (b *smtpBox) NewSession(*smtp.Conn) (smtp.Session, error) { return smtpSession{b}, nil }
func (smtpSession) Reset()                                     {}
func (smtpSession) Logout() error                              { return nil }
func (smtpSession) Mail(string, *smtp.MailOptions) error       { return nil }
func (smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	}
	return nil
}
func (s smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	s.box.got = append(s.box.got, string(b))
	s.box.mu.Unlock()
	return err
}

func TestNotificationPages(t *testing.T) {
	app := newTestApp(t, withSetup(func(s *appSetup) { s.Deps.Notifications = testNotify{s.Deps.Users.(*store.DB)} }))
	box := &smtpBox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())

	admin := app.signedIn("ada", store.RoleAdmin)
	form := url.Values{"smtp_host": {"127.0.0.1"}, "smtp_port": {port}, "smtp_security": {"none"}, "mail_from": {"not an address"},
		"base_url": {"http://trellis.test"}, "smtp_password": {"hunter2"}}
	r := admin.postForm("/admin/notifications", form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, "not a mail address") {
		t.Fatalf("bad sender not explained: %s", r.Body)
	}
	form.Set("mail_from", "trellis@example.com")
	wantStatus(t, admin.postForm("/admin/notifications", form), http.StatusSeeOther)
	page := admin.get("/admin/notifications")
	if strings.Contains(page.Body, "hunter2") || !strings.Contains(page.Body, "(one is set)") {
		t.Fatal("the page shows the password, or not that it is set")
	}

	// The test mail shows the server's answer: accepted, or its refusal.
	r = admin.postForm("/admin/notifications/test", url.Values{"to": {"ops@example.com"}})
	if !strings.Contains(r.Body, "accepted the test mail") || len(box.got) != 1 || !strings.Contains(box.got[0], "Test mail from Trellis") {
		t.Fatalf("test mail: %s", r.Body)
	}
	r = admin.postForm("/admin/notifications/test", url.Values{"to": {"nobody@example.com"}})
	if !strings.Contains(r.Body, "no such mailbox here") {
		t.Fatalf("the server's refusal is not shown: %s", r.Body)
	}
	form.Set("smtp_port", strconv.Itoa(1))
	wantStatus(t, admin.postForm("/admin/notifications", form), http.StatusSeeOther)
	r = admin.postForm("/admin/notifications/test", url.Values{"to": {"ops@example.com"}})
	if !strings.Contains(r.Body, "The mail was not sent") {
		t.Fatalf("an unreachable server is not shown: %s", r.Body)
	}
	wantStatus(t, admin.get("/admin/notifications/deliveries?state=failed"), http.StatusOK)

	// Each user sets their own choices; reviewers do not see the admin page.
	rev := app.signedIn("rita", store.RoleReviewer)
	wantStatus(t, rev.get("/admin/notifications"), http.StatusForbidden)
	r = rev.postForm("/settings/notifications", url.Values{"email": {"rita@"}, "events": {"created"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantStatus(t, rev.postForm("/settings/notifications", url.Values{"email": {"rita@example.com"}, "events": {"created", "overdue"}, "digest": {"1"}}), http.StatusSeeOther)
	got, err := app.DB.GetUserNotify(context.Background(), "rita")
	if err != nil || got.Email != "rita@example.com" || !got.Digest || strings.Join(got.Events, ",") != "created,overdue" {
		t.Fatalf("rita's choices: %+v, %v", got, err)
	}
}
