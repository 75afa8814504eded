package web

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// maxPrice bounds a price per million tokens, as the CLI does: more is a typo.
const maxPrice = 1e9

// providerSave adds a provider or replaces the one with that name, prices included, then
// shows the list again.
func (s *Server) providerSave(c echo.Context) error {
	ctx := c.Request().Context()
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	form := templates.ProviderForm{
		Name:         strings.TrimSpace(req.PostFormValue("name")),
		Kind:         strings.TrimSpace(req.PostFormValue("kind")),
		BaseURL:      strings.TrimSpace(req.PostFormValue("base_url")),
		Model:        strings.TrimSpace(req.PostFormValue("model")),
		APIKeySecret: strings.TrimSpace(req.PostFormValue("api_key_secret")),
		Timeout:      strings.TrimSpace(req.PostFormValue("timeout")),
		Concurrency:  strings.TrimSpace(req.PostFormValue("concurrency")),
		Prices:       postedPriceRows(req.PostForm),
		Errors:       map[string]string{},
	}
	providers, err := s.deps.Providers.ListProviders(ctx)
	if err != nil {
		return err
	}
	secrets, err := s.deps.Providers.ListSecretNames(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(providers, func(p store.Provider) bool { return p.Name == form.Name }) {
		form.Editing = form.Name
	}

	p := store.Provider{Name: form.Name, Kind: form.Kind, BaseURL: form.BaseURL, Model: form.Model, APIKeySecret: form.APIKeySecret}
	p.TimeoutSeconds = parseProviderInt(&form, "timeout", form.Timeout, "Enter whole seconds, e.g. 60.")
	p.Concurrency = parseProviderInt(&form, "concurrency", form.Concurrency, "Enter a whole number, e.g. 4.")
	p.Prices = parsePrices(&form)
	checkProviderFields(&form, p)
	if len(form.Errors) > 0 {
		form.Error = "The provider was not saved. Correct the fields marked below."
		return s.renderProviders(c, http.StatusUnprocessableEntity, providersProps(providers, secrets, form))
	}

	err = s.deps.Providers.SetProvider(ctx, p)
	if errors.Is(err, store.ErrInvalid) {
		form.Error = sentence(err.Error()) + "."
		return s.renderProviders(c, http.StatusUnprocessableEntity, providersProps(providers, secrets, form))
	}
	if err != nil {
		return err
	}
	s.log.Info("provider saved", slog.String("provider", p.Name), slog.String("kind", p.Kind),
		slog.Bool("created", form.Editing == ""), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/providers?"+url.Values{"saved": {p.Name}}.Encode())
}

// postedPriceRows reads the price table, dropping rows left empty.
func postedPriceRows(f url.Values) []templates.PriceRow {
	models, prompts, completions := f["price_model"], f["price_prompt"], f["price_completion"]
	n := max(len(models), len(prompts), len(completions))
	at := func(list []string, i int) string {
		if i < len(list) {
			return strings.TrimSpace(list[i])
		}
		return ""
	}
	var rows []templates.PriceRow
	for i := range n {
		r := templates.PriceRow{Model: at(models, i), Prompt: at(prompts, i), Completion: at(completions, i)}
		if r != (templates.PriceRow{}) {
			rows = append(rows, r)
		}
	}
	return rows
}

// parseProviderInt reads a whole number; empty means the store's default (0). A typed 0 or
// less becomes -1 so that the store's range message explains the bounds.
func parseProviderInt(form *templates.ProviderForm, field, text, msg string) int {
	if text == "" {
		return 0
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		form.Errors[field] = msg
		return 0
	}
	if n < 1 {
		return -1
	}
	return n
}

// parsePrices reads the price rows into the store's map, noting the first problem.
func parsePrices(form *templates.ProviderForm) map[string]store.Price {
	prices := map[string]store.Price{}
	for i, r := range form.Prices {
		row := fmt.Sprintf("Price row %d", i+1)
		form.Prices[i].Invalid = true // until the row passes
		if r.Model == "" {
			form.Errors["prices"] = row + ": name the model."
			return nil
		}
		if _, dup := prices[r.Model]; dup {
			form.Errors["prices"] = row + ": model " + r.Model + " already has a price."
			return nil
		}
		prompt, ok1 := parsePrice(r.Prompt)
		completion, ok2 := parsePrice(r.Completion)
		switch {
		case r.Prompt == "" || r.Completion == "":
			form.Errors["prices"] = row + " (" + r.Model + "): give both prices; write 0 for a free model."
			return nil
		case !ok1 || !ok2:
			form.Errors["prices"] = row + " (" + r.Model + "): write each price as a number of dollars, 0 or more, like 0.15."
			return nil
		}
		prices[r.Model] = store.Price{PromptPerMTok: prompt, CompletionPerMTok: completion}
		form.Prices[i].Invalid = false
	}
	return prices
}

// parsePrice reads dollars per million tokens ("0.15" or "$0.15").
func parsePrice(text string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimPrefix(text, "$"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxPrice {
		return 0, false
	}
	return v, true
}

// formError answers a form body that cannot be read: 413 when it is over the route's
// limit, 400 otherwise.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	e := NewError(http.StatusBadRequest, "The form could not be read.")
	e.Err = err
	return e
}

// checkProviderFields puts the store's message for each field next to that field: it
// validates a provider that is valid except for the field in question.
func checkProviderFields(form *templates.ProviderForm, p store.Provider) {
	base := store.Provider{Name: "default", Kind: store.ProviderKinds[0], BaseURL: "http://127.0.0.1"}
	if store.ValidateProviderName(p.Name) == nil {
		base.Name = p.Name
	}
	fields := []struct {
		name string
		set  func(*store.Provider)
	}{
		{"name", func(q *store.Provider) { q.Name = p.Name }},
		{"kind", func(q *store.Provider) { q.Kind = p.Kind }},
		{"base_url", func(q *store.Provider) { q.BaseURL = p.BaseURL }},
		{"model", func(q *store.Provider) { q.Model = p.Model }},
		{"api_key_secret", func(q *store.Provider) { q.APIKeySecret = p.APIKeySecret }},
		{"timeout", func(q *store.Provider) { q.TimeoutSeconds = p.TimeoutSeconds }},
		{"concurrency", func(q *store.Provider) { q.Concurrency = p.Concurrency }},
		{"prices", func(q *store.Provider) { q.Prices = p.Prices }},
	}
	for _, f := range fields {
		if form.Errors[f.name] != "" {
			continue
		}
		q := base
		f.set(&q)
		if err := store.ValidateProvider(q); err != nil {
			form.Errors[f.name] = sentence(err.Error()) + "."
			if f.name == "prices" {
				for i := range form.Prices {
					form.Prices[i].Invalid = true
				}
			}
		}
	}
}
