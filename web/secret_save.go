package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// secretSave stores a secret's value, encrypted, then shows the list again. The value is
// never written back: not on success, not with an error, not in the log.
func (s *Server) secretSave(c echo.Context) error {
	ctx := c.Request().Context()
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	form := templates.SecretForm{Name: strings.TrimSpace(req.PostFormValue("name")), Hosts: req.PostFormValue("hosts"), Errors: map[string]string{}}
	value := req.PostFormValue("value")
	if err := store.ValidateSecretName(form.Name); err != nil {
		form.Errors["name"] = sentence(err.Error()) + "."
	}
	switch {
	case value == "":
		form.Errors["value"] = "Enter a value."
	case len(value) > store.MaxSecretSize:
		form.Errors["value"] = "The value is too large: use at most " + strconv.Itoa(store.MaxSecretSize>>10) + " KiB."
	}
	// Empty keeps the hosts the secret has, so a new value does not unbind it; * unbinds.
	keepHosts, anyHost := strings.TrimSpace(form.Hosts) == "", strings.TrimSpace(form.Hosts) == "*"
	var hosts []string
	var err error
	if !keepHosts && !anyHost {
		if hosts, err = store.NormalizeSecretHosts(strings.Split(form.Hosts, ",")); err != nil {
			form.Errors["hosts"] = sentence(err.Error()) + "."
		}
	}
	if len(form.Errors) > 0 {
		form.Error = "The secret was not set. Correct the fields marked below."
		return s.rerenderSecrets(c, form)
	}
	err = s.deps.Providers.SetSecret(ctx, form.Name, value)
	if err == nil && !keepHosts {
		err = s.deps.Providers.SetSecretHosts(ctx, form.Name, hosts)
	}
	if errors.Is(err, store.ErrInvalid) {
		form.Error = sentence(err.Error()) + "."
		return s.rerenderSecrets(c, form)
	}
	if err != nil {
		return err
	}
	s.log.Info("secret set", slog.String("secret", form.Name), slog.Any("hosts", hosts), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/secrets?"+url.Values{"saved": {form.Name}}.Encode())
}

// rerenderSecrets shows the page again with the form's errors (422).
func (s *Server) rerenderSecrets(c echo.Context, form templates.SecretForm) error {
	ctx := c.Request().Context()
	names, err := s.deps.Providers.ListSecretNames(ctx)
	if err != nil {
		return err
	}
	providers, err := s.deps.Providers.ListProviders(ctx)
	if err != nil {
		return err
	}
	hosts, err := s.deps.Providers.AllSecretHosts(ctx)
	if err != nil {
		return err
	}
	return s.renderSecrets(c, http.StatusUnprocessableEntity, secretsProps(names, providers, hosts, form))
}
