package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// NotificationAdmin is what the notification pages need (cmd hands the store with the engine's
// test mail). Errors: store.ErrInvalid from the setters with a message safe to show.
// SendTestMail returns the mail server's answer as an error when it refused.
type NotificationAdmin interface {
	GetNotifySettings(ctx context.Context) (*store.NotifySettings, error)
	SetNotifySettings(ctx context.Context, s store.NotifySettings, password, webhookSecret *string) error
	GetUserNotify(ctx context.Context, name string) (*store.UserNotify, error)
	SetUserNotify(ctx context.Context, u store.UserNotify) error
	ListNotifyDeliveries(ctx context.Context, state string, limit int) ([]store.NotifyDelivery, error)
	SendTestMail(ctx context.Context, to string) error
}

// notifyFormLimit bounds the notification forms.
const notifyFormLimit = 32 << 10

// notificationRoutes: admins set how mail is sent and see deliveries; everyone signed in sets
// their own choices.
func (s *Server) notificationRoutes() []Route {
	admin := []string{store.RoleAdmin}
	rows := []Route{
		{Method: http.MethodGet, Path: "/admin/notifications", Roles: admin, Handler: s.notifySettingsShow},
		{Method: http.MethodPost, Path: "/admin/notifications", Roles: admin, MaxBody: notifyFormLimit, Handler: s.notifySettingsSave},
		{Method: http.MethodPost, Path: "/admin/notifications/test", Roles: admin, MaxBody: notifyFormLimit, Handler: s.notifyTestMail},
		{Method: http.MethodGet, Path: "/admin/notifications/deliveries", Roles: admin, Handler: s.notifyDeliveries},
		{Method: http.MethodGet, Path: "/settings/notifications", Handler: s.userNotifyShow},
		{Method: http.MethodPost, Path: "/settings/notifications", MaxBody: notifyFormLimit, Handler: s.userNotifySave},
	}
	for i := range rows {
		h := rows[i].Handler
		rows[i].Handler = func(c echo.Context) error {
			if s.deps.Notifications == nil {
				return NewError(http.StatusServiceUnavailable, "Notifications are not available on this server.")
			}
			return h(c)
		}
	}
	return rows
}

func settingsView(st *store.NotifySettings) templates.NotifySettingsView {
	return templates.NotifySettingsView{SMTPHost: st.SMTPHost, SMTPSecurity: st.SMTPSecurity, SMTPUser: st.SMTPUser, MailFrom: st.MailFrom,
		BaseURL: st.BaseURL, WebhookURL: st.WebhookURL, SMTPPort: st.SMTPPort, PasswordSet: st.PasswordSet, WebhookSecretSet: st.WebhookSecretSet}
}

func (s *Server) notifyProps(c echo.Context) (templates.NotifySettingsProps, error) {
	ctx := c.Request().Context()
	st, err := s.deps.Notifications.GetNotifySettings(ctx)
	if err != nil {
		return templates.NotifySettingsProps{}, err
	}
	failed, err := s.deps.Notifications.ListNotifyDeliveries(ctx, store.DeliveryFailed, 100)
	if err != nil {
		return templates.NotifySettingsProps{}, err
	}
	return templates.NotifySettingsProps{Settings: settingsView(st), Failed: len(failed)}, nil
}

func (s *Server) renderNotify(c echo.Context, status int, p templates.NotifySettingsProps) error {
	return Render(c, status, templates.Page{Title: "Notifications", Section: "/admin/users", Body: templates.NotifySettings(p)})
}

func (s *Server) notifySettingsShow(c echo.Context) error {
	p, err := s.notifyProps(c)
	if err != nil {
		return err
	}
	if c.QueryParam("saved") == "1" {
		p.Notice = "Saved."
	}
	return s.renderNotify(c, http.StatusOK, p)
}

// notifySettingsSave stores the settings; empty password fields keep the secrets.
func (s *Server) notifySettingsSave(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	f := func(k string) string { return strings.TrimSpace(req.PostFormValue(k)) }
	port, err := strconv.Atoi(f("smtp_port"))
	if err != nil {
		port = -1
	}
	st := store.NotifySettings{SMTPHost: f("smtp_host"), SMTPPort: port, SMTPSecurity: f("smtp_security"), SMTPUser: f("smtp_user"),
		MailFrom: f("mail_from"), BaseURL: f("base_url"), WebhookURL: f("webhook_url")}
	var pw, hook *string
	if v := req.PostFormValue("smtp_password"); v != "" {
		pw = &v
	}
	if v := req.PostFormValue("webhook_secret"); v != "" {
		hook = &v
	}
	err = s.deps.Notifications.SetNotifySettings(req.Context(), st, pw, hook)
	if errors.Is(err, store.ErrInvalid) {
		p, perr := s.notifyProps(c)
		if perr != nil {
			return perr
		}
		p.Settings, p.Error = settingsView(&st), sentence(err.Error())+"."
		return s.renderNotify(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	s.log.Info("notification settings saved", "by", CurrentUser(c).Name)
	return c.Redirect(http.StatusSeeOther, "/admin/notifications?saved=1")
}

// notifyTestMail sends a test mail with the saved settings and shows the server's answer.
func (s *Server) notifyTestMail(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	to := strings.TrimSpace(req.PostFormValue("to"))
	p, err := s.notifyProps(c)
	if err != nil {
		return err
	}
	p.TestTo = to
	if err := s.deps.Notifications.SendTestMail(req.Context(), to); err != nil {
		p.TestAnswer = "The mail was not sent: " + err.Error()
		return s.renderNotify(c, http.StatusOK, p)
	}
	p.TestAnswer, p.TestOK = "The server accepted the test mail to "+to+".", true
	return s.renderNotify(c, http.StatusOK, p)
}

// notifyDeliveries lists notifications, the failed ones on ?state=failed.
func (s *Server) notifyDeliveries(c echo.Context) error {
	state := c.QueryParam("state")
	if state != "" && state != store.DeliveryFailed && state != store.DeliveryPending && state != store.DeliverySent {
		return NewError(http.StatusBadRequest, "state must be failed, pending or sent.")
	}
	ds, err := s.deps.Notifications.ListNotifyDeliveries(c.Request().Context(), state, 500)
	if err != nil {
		return err
	}
	p := templates.NotifyDeliveriesProps{State: state}
	for _, d := range ds {
		p.Deliveries = append(p.Deliveries, templates.NotifyDeliveryRow{Channel: d.Channel, Recipient: d.Recipient, Event: d.Event,
			TaskID: d.TaskID, Title: d.Title, State: d.State, Error: d.Error, Digest: d.Digest, Attempts: d.Attempts, CreatedAt: d.CreatedAt})
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Notification deliveries", Section: "/admin/users", Body: templates.NotifyDeliveries(p)})
}

func (s *Server) userNotifyShow(c echo.Context) error {
	u, err := s.deps.Notifications.GetUserNotify(c.Request().Context(), CurrentUser(c).Name)
	if err != nil {
		return err
	}
	p := templates.UserNotifyProps{Choice: templates.UserNotifyChoice{Email: u.Email, Events: u.Events, Digest: u.Digest}}
	if c.QueryParam("saved") == "1" {
		p.Notice = "Saved."
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Your notifications", Body: templates.UserNotify(p)})
}

// userNotifySave stores the signed-in user's own choices; nobody sets another's.
func (s *Server) userNotifySave(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	u := store.UserNotify{UserName: CurrentUser(c).Name, Email: strings.TrimSpace(req.PostFormValue("email")),
		Events: req.PostForm["events"], Digest: req.PostFormValue("digest") != ""}
	err := s.deps.Notifications.SetUserNotify(req.Context(), u)
	if errors.Is(err, store.ErrInvalid) {
		p := templates.UserNotifyProps{Choice: templates.UserNotifyChoice{Email: u.Email, Events: u.Events, Digest: u.Digest}, Error: sentence(err.Error()) + "."}
		return Render(c, http.StatusUnprocessableEntity, templates.Page{Title: "Your notifications", Body: templates.UserNotify(p)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings/notifications?"+url.Values{"saved": {"1"}}.Encode())
}
