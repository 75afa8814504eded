package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// providerBlankPriceRows is how many empty price rows the form offers after the stored ones.
const providerBlankPriceRows = 3

// providerList shows the LLM providers and the form that adds or replaces one; ?edit=NAME
// fills the form with that provider and ?example=ollama with a local Ollama.
func (s *Server) providerList(c echo.Context) error {
	ctx := c.Request().Context()
	providers, err := s.deps.Providers.ListProviders(ctx)
	if err != nil {
		return err
	}
	secrets, err := s.deps.Providers.ListSecretNames(ctx)
	if err != nil {
		return err
	}
	form := templates.ProviderForm{Kind: store.ProviderKinds[0]}
	if name := c.QueryParam("edit"); name != "" {
		i := slices.IndexFunc(providers, func(p store.Provider) bool { return p.Name == name })
		if i < 0 {
			return NewError(http.StatusNotFound, "Provider "+strconv.Quote(name)+" is not configured.")
		}
		form = providerFormOf(providers[i])
	} else if c.QueryParam("example") == "ollama" {
		form = templates.ProviderForm{Name: "default", Kind: "openai", BaseURL: "http://127.0.0.1:11434/v1", Model: "llama3.2"}
	}
	props := providersProps(providers, secrets, form)
	// Confirm only names that are really (or no longer) providers, so a link cannot put
	// arbitrary words on the page.
	has := func(name string) bool {
		return slices.ContainsFunc(providers, func(p store.Provider) bool { return p.Name == name })
	}
	if saved := c.QueryParam("saved"); saved != "" && has(saved) {
		props.Saved = saved
	}
	if deleted := c.QueryParam("deleted"); deleted != "" && !has(deleted) && store.ValidateProviderName(deleted) == nil {
		props.Deleted = deleted
	}
	return s.renderProviders(c, http.StatusOK, props)
}

// providersProps builds the page; form.Prices gets blank rows to fill in.
func providersProps(providers []store.Provider, secrets []string, form templates.ProviderForm) templates.AdminProvidersProps {
	rows := make([]templates.ProviderRow, 0, len(providers))
	for _, p := range providers {
		rows = append(rows, templates.ProviderRow{
			Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, Model: p.Model, APIKeySecret: p.APIKeySecret,
			KeySet:         p.APIKeySecret == "" || slices.Contains(secrets, p.APIKeySecret),
			TimeoutSeconds: p.TimeoutSeconds, Concurrency: p.Concurrency, Prices: priceRows(p),
		})
	}
	for range providerBlankPriceRows {
		form.Prices = append(form.Prices, templates.PriceRow{})
	}
	return templates.AdminProvidersProps{
		Providers: rows, Form: form, Kinds: store.ProviderKinds, SecretNames: secrets,
		DefaultTimeout: store.DefaultProviderTimeoutSeconds, DefaultConcurrency: store.DefaultProviderConcurrency,
	}
}

// providerFormOf fills the form with a stored provider, for editing.
func providerFormOf(p store.Provider) templates.ProviderForm {
	return templates.ProviderForm{
		Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, Model: p.Model, APIKeySecret: p.APIKeySecret,
		Timeout: strconv.Itoa(p.TimeoutSeconds), Concurrency: strconv.Itoa(p.Concurrency),
		Prices: priceRows(p), Editing: p.Name,
	}
}

// priceRows lists a provider's prices by model name.
func priceRows(p store.Provider) []templates.PriceRow {
	var out []templates.PriceRow
	for _, m := range p.PricedModels() {
		pr := p.Prices[m]
		out = append(out, templates.PriceRow{Model: m, Prompt: formatPrice(pr.PromptPerMTok), Completion: formatPrice(pr.CompletionPerMTok)})
	}
	return out
}

// formatPrice writes a price as short as it reads back exactly.
func formatPrice(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (s *Server) renderProviders(c echo.Context, status int, p templates.AdminProvidersProps) error {
	return Render(c, status, templates.Page{Title: "LLM providers", Section: "/admin/users", Body: templates.AdminProviders(p)})
}
