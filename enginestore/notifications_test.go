package enginestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"trellis/designer"
	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/enginestore"
	"trellis/internal/testsvc"
	"trellis/store"
	"trellis/store/storetest"
)

// mailbox is an in-process SMTP server that keeps every mail it is given.
type mailbox struct {
	mu    sync.Mutex
	mails []sentMail
	addr  string
}

type sentMail struct{ to, data string }

type mailSession struct {
	box *mailbox
	to  []string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: b}, nil }
func (s *mailSession) Reset()                                  { s.to = nil }
func (s *mailSession) Logout() error                           { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error    { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		s.box.mails = append(s.box.mails, sentMail{to: to, data: string(b)})
	}
	return nil
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box
}

// waitMail waits for a mail to to whose text holds every one of want.
func (b *mailbox) waitMail(t *testing.T, to string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, m := range b.mails {
			ok := m.to == to
			for _, w := range want {
				ok = ok && strings.Contains(m.data, w)
			}
			if ok {
				b.mu.Unlock()
				return m.data
			}
		}
		b.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no mail to %s with %q; mails: %d", to, want, len(b.mails))
	return ""
}

func (b *mailbox) count(to string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.mails {
		if m.to == to {
			n++
		}
	}
	return n
}

const reviewDoc = `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "Refund {{ input.n }}",
	"assignee": "%s", "due": "%s"%s}}], "edges": []}`

func waitDeliveries(t *testing.T, db *store.DB, what string, ok func([]store.NotifyDelivery) bool) []store.NotifyDelivery {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last []store.NotifyDelivery
	for time.Now().Before(deadline) {
		ds, err := db.ListNotifyDeliveries(context.Background(), "", 100)
		if err == nil {
			last = ds
			if ok(ds) {
				return ds
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("deliveries: gave up waiting until %s; last %+v", what, last)
	return nil
}

func TestNotificationsMailWebhookDigestAndOverdue(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	box := startMailbox(t)
	var hookCalls atomic.Int32
	receiver := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookCalls.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(receiver.Close)

	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	hookSecret := "hook-secret"
	if err := db.SetNotifySettings(ctx, store.NotifySettings{SMTPHost: host, SMTPPort: p, SMTPSecurity: "none", MailFrom: "trellis@example.com",
		BaseURL: "http://trellis.test", WebhookURL: receiver.URL}, nil, &hookSecret); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name, email string
		digest      bool
	}{{"rita", "rita@example.com", false}, {"finn", "finn@example.com", true}, {"esme", "esme@example.com", false}} {
		if _, _, err := db.UpsertUser(ctx, store.UserInput{Name: u.name, Password: "pw-pw-pw-pw-pw", Roles: []string{store.RoleReviewer}, Groups: []string{"finance"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserNotify(ctx, store.UserNotify{UserName: u.name, Email: u.email, Events: store.NotifyEvents, Digest: u.digest}); err != nil {
			t.Fatal(err)
		}
	}
	eng, c := enginetest.Start(t, engine.Deps{Tasks: enginestore.NotifyingTasks{Tasks: enginestore.Tasks{DB: db}}, Notifications: enginestore.Notifications{DB: db}})
	start := func(n int, assignee, due, extra string) {
		var g designer.Graph
		if err := json.Unmarshal([]byte(fmt.Sprintf(reviewDoc, assignee, due, extra)), &g); err != nil {
			t.Fatal(err)
		}
		g.Format = designer.Format
		if _, err := eng.StartRun(ctx, engine.StartRunRequest{GraphID: "refund", Version: 1, Definition: g, Input: map[string]any{"n": n}}); err != nil {
			t.Fatal(err)
		}
	}

	// A task for group finance: rita gets a mail with the link, finn's waits for the digest,
	// the webhook that keeps failing is tried again and again, then shown failed.
	start(1, "group:finance", "1h", "")
	mail := box.waitMail(t, "rita@example.com", "Refund 1", "http://trellis.test/tasks/")
	if !strings.Contains(mail, "Subject: [Trellis] A task is waiting for you: Refund 1") {
		t.Fatalf("mail to rita:\n%s", mail)
	}
	start(2, "group:finance", "1h", "")
	box.waitMail(t, "rita@example.com", "Refund 2")
	ds := waitDeliveries(t, db, "the webhook failed twice", func(ds []store.NotifyDelivery) bool {
		n := 0
		for _, d := range ds {
			if d.Channel == "webhook" && d.State == store.DeliveryFailed {
				n++
			}
		}
		return n == 2
	})
	for _, d := range ds {
		if d.Channel == "webhook" && (d.Attempts != engine.NotifyAttempts || !strings.Contains(d.Error, "503")) {
			t.Errorf("failed webhook delivery: %+v", d)
		}
	}
	if n := hookCalls.Load(); n != 2*engine.NotifyAttempts {
		t.Errorf("webhook called %d times, want %d", n, 2*engine.NotifyAttempts)
	}
	if n := box.count("finn@example.com"); n != 0 {
		t.Fatalf("finn chose the digest but got %d mails", n)
	}

	// The digest gathers finn's two tasks into one mail.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "digest-test", TaskQueue: engine.DefaultTaskQueue}, engine.DigestWorkflowName)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	box.waitMail(t, "finn@example.com", "2 tasks", "Refund 1", "Refund 2")
	if n := box.count("finn@example.com"); n != 1 {
		t.Fatalf("finn got %d mails, want one digest", n)
	}

	// Escalated when due, then overdue again: esme hears of both.
	start(3, "user:rita", "2s", `, "on_due": {"escalate_to": "user:esme"}`)
	box.waitMail(t, "esme@example.com", "escalated to you", "Refund 3")
	box.waitMail(t, "esme@example.com", "overdue", "Refund 3")
}

// A task with no due time starts a notification workflow only when there is a notice to
// send now: not with mail and webhook unset, not for a reader of the digest (whose notice
// still waits for it), and still for one who wants mail.
func TestNotificationWorkflowOnlyWithSomethingToSend(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	box := startMailbox(t)
	for _, u := range []struct {
		name   string
		digest bool
	}{{"rita", false}, {"finn", true}} {
		if _, _, err := db.UpsertUser(ctx, store.UserInput{Name: u.name, Password: "pw-pw-pw-pw-pw", Roles: []string{store.RoleReviewer}}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserNotify(ctx, store.UserNotify{UserName: u.name, Email: u.name + "@example.com", Events: store.NotifyEvents, Digest: u.digest}); err != nil {
			t.Fatal(err)
		}
	}
	eng, c := enginetest.Start(t, engine.Deps{Tasks: enginestore.NotifyingTasks{Tasks: enginestore.Tasks{DB: db}}, Notifications: enginestore.Notifications{DB: db}})
	fc := &faultCluster{eng: eng, c: c}
	// open starts a run whose one task goes to assignee and returns the task's notification
	// workflow id once the run waits (its task activity, which starts that workflow, is done).
	open := func(n int, assignee string) string {
		var g designer.Graph
		doc := fmt.Sprintf(`{"format": %q, "nodes": [{"id": "review", "kind": "approval", "config": {"title": "Refund %d", "assignee": %q}}], "edges": []}`,
			designer.Format, n, assignee)
		if err := json.Unmarshal([]byte(doc), &g); err != nil {
			t.Fatal(err)
		}
		id, err := eng.StartRun(ctx, engine.StartRunRequest{GraphID: "refund", Version: 1, Definition: g, Input: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		fc.waitNode(t, id, "review", engine.NodeWaiting)
		task, err := db.GetTaskByNode(ctx, id, "review")
		if err != nil {
			t.Fatal(err)
		}
		return "notify-" + task.ID + "-" + store.NotifyCreated
	}
	started := func(wf string) bool {
		_, err := c.DescribeWorkflowExecution(ctx, wf, "")
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Fatal(err)
		}
		return err == nil
	}

	if wf := open(1, "user:rita"); started(wf) {
		t.Errorf("with neither mail nor webhook set up, %s was started", wf)
	}

	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	if err := db.SetNotifySettings(ctx, store.NotifySettings{SMTPHost: host, SMTPPort: p, SMTPSecurity: "none", MailFrom: "trellis@example.com",
		BaseURL: "http://trellis.test"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if wf := open(2, "user:finn"); started(wf) {
		t.Errorf("for a digest reader's task, %s was started", wf)
	}
	ds, err := db.ListNotifyDeliveries(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Recipient != "finn@example.com" || !ds[0].Digest || ds[0].State != store.DeliveryPending || ds[0].Title != "Refund 2" {
		t.Errorf("deliveries: %+v, want finn's notice of Refund 2 waiting for the digest", ds)
	}

	if wf := open(3, "user:rita"); !started(wf) {
		t.Errorf("for a task whose assignee wants mail, %s was not started", wf)
	}
	box.waitMail(t, "rita@example.com", "Refund 3")
}
