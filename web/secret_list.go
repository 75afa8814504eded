package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// secretList shows the names of the secrets (never their values), the names providers use
// that are not set yet, and the form that sets one.
func (s *Server) secretList(c echo.Context) error {
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
	props := secretsProps(names, providers, hosts, templates.SecretForm{})
	// Confirm only a name that is really a secret, so a link cannot put words on the page.
	if saved := c.QueryParam("saved"); saved != "" && slices.Contains(names, saved) {
		props.Saved = saved
	}
	return s.renderSecrets(c, http.StatusOK, props)
}

// secretsProps lists the secrets that are set and those providers name but lack, by name.
func secretsProps(names []string, providers []store.Provider, hosts map[string][]string, form templates.SecretForm) templates.AdminSecretsProps {
	rows := make([]templates.SecretRow, 0, len(names))
	for _, n := range names {
		rows = append(rows, templates.SecretRow{Name: n, Set: true, Hosts: hosts[n]})
	}
	for _, p := range providers {
		if p.APIKeySecret == "" {
			continue
		}
		i := slices.IndexFunc(rows, func(r templates.SecretRow) bool { return r.Name == p.APIKeySecret })
		if i < 0 {
			rows = append(rows, templates.SecretRow{Name: p.APIKeySecret})
			i = len(rows) - 1
		}
		rows[i].Providers = append(rows[i].Providers, p.Name)
	}
	slices.SortFunc(rows, func(a, b templates.SecretRow) int { return strings.Compare(a.Name, b.Name) })
	return templates.AdminSecretsProps{Secrets: rows, Form: form, MaxKiB: store.MaxSecretSize >> 10}
}

func (s *Server) renderSecrets(c echo.Context, status int, p templates.AdminSecretsProps) error {
	return Render(c, status, templates.Page{Title: "Secrets", Section: "/admin/users", Body: templates.AdminSecrets(p)})
}
