package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Provider is a configured LLM endpoint that llm nodes name. It holds the name of the
// secret with the API key, never the key.
type Provider struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`     // ProviderKinds
	BaseURL      string `json:"base_url"` // the API root, e.g. https://api.openai.com/v1
	Model        string `json:"model"`    // used when a node names none; may be empty
	APIKeySecret string `json:"api_key_secret"`
	// TimeoutSeconds bounds one call to the provider; 0 in SetProvider means the default.
	TimeoutSeconds int `json:"timeout_seconds"`
	// Concurrency bounds calls in flight per worker; 0 in SetProvider means the default.
	Concurrency int              `json:"concurrency"`
	Prices      map[string]Price `json:"prices,omitempty"` // by model
	UpdatedAt   time.Time        `json:"updated_at"`
}

// Price is what a model costs per million tokens.
type Price struct {
	PromptPerMTok     float64 `json:"prompt_per_mtok"`
	CompletionPerMTok float64 `json:"completion_per_mtok"`
}

// ProviderKinds are the protocols a provider can speak.
var ProviderKinds = []string{"openai", "anthropic"}

// Provider defaults and bounds.
const (
	DefaultProviderTimeoutSeconds = 60
	DefaultProviderConcurrency    = 4
	MaxProviderTimeoutSeconds     = 3600
	MaxProviderConcurrency        = 256
	maxModelNameLength            = 200
)

var providerNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidateProviderName returns an ErrInvalid error when name is not a valid provider name.
func ValidateProviderName(name string) error {
	if !providerNamePattern.MatchString(name) {
		return invalidf("provider name %q is not valid: use 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter (like default)", name)
	}
	return nil
}

// ValidateProvider returns an ErrInvalid error when SetProvider would refuse p.
func ValidateProvider(p Provider) error {
	_, err := normalizeProvider(p)
	return err
}

// normalizeProvider checks p and fills in defaults. Errors are ErrInvalid.
func normalizeProvider(p Provider) (Provider, error) {
	if err := ValidateProviderName(p.Name); err != nil {
		return p, err
	}
	if !slices.Contains(ProviderKinds, p.Kind) {
		return p, invalidf("provider kind %q is not known: use %s", p.Kind, strings.Join(ProviderKinds, " or "))
	}
	p.BaseURL = strings.TrimSpace(p.BaseURL)
	u, err := url.Parse(p.BaseURL)
	switch {
	case p.BaseURL == "":
		return p, invalidf("provider %s needs a base URL", p.Name)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return p, invalidf("base URL %q is not an absolute http(s) URL", p.BaseURL)
	case u.User != nil:
		return p, invalidf("the base URL must not hold credentials: store the key as a secret and name it as the API key secret")
	case u.RawQuery != "" || u.Fragment != "":
		return p, invalidf("the base URL must not have a query or fragment")
	}
	p.Model = strings.TrimSpace(p.Model)
	if err := checkModelName(p.Model); err != nil {
		return p, err
	}
	if p.APIKeySecret != "" {
		if err := ValidateSecretName(p.APIKeySecret); err != nil {
			return p, err
		}
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = DefaultProviderTimeoutSeconds
	}
	if p.TimeoutSeconds < 1 || p.TimeoutSeconds > MaxProviderTimeoutSeconds {
		return p, invalidf("the timeout must be between 1 second and %d seconds", MaxProviderTimeoutSeconds)
	}
	if p.Concurrency == 0 {
		p.Concurrency = DefaultProviderConcurrency
	}
	if p.Concurrency < 1 || p.Concurrency > MaxProviderConcurrency {
		return p, invalidf("the concurrency must be between 1 and %d", MaxProviderConcurrency)
	}
	for model, price := range p.Prices {
		if strings.TrimSpace(model) == "" || model != strings.TrimSpace(model) {
			return p, invalidf("a price needs a model name without surrounding spaces")
		}
		if err := checkModelName(model); err != nil {
			return p, err
		}
		for _, v := range []float64{price.PromptPerMTok, price.CompletionPerMTok} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return p, invalidf("the price of model %s must be a number, 0 or more", model)
			}
		}
	}
	return p, nil
}

func checkModelName(m string) error {
	if len(m) > maxModelNameLength {
		return invalidf("model name is too long: use at most %d characters", maxModelNameLength)
	}
	if strings.IndexFunc(m, unicode.IsControl) >= 0 {
		return invalidf("model name %q must not contain control characters", m)
	}
	return nil
}

// SetProvider creates or replaces a provider, prices included. Defaults fill zero
// TimeoutSeconds and Concurrency.
func (db *DB) SetProvider(ctx context.Context, p Provider) error {
	p, err := normalizeProvider(p)
	if err != nil {
		return err
	}
	now := db.nowNanos()
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO providers (name, kind, base_url, model, api_key_secret, timeout_seconds, concurrency, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, model = excluded.model,
				api_key_secret = excluded.api_key_secret, timeout_seconds = excluded.timeout_seconds,
				concurrency = excluded.concurrency, updated_at = excluded.updated_at`,
			p.Name, p.Kind, p.BaseURL, p.Model, p.APIKeySecret, p.TimeoutSeconds, p.Concurrency, now, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM provider_prices WHERE provider = ?`, p.Name); err != nil {
			return err
		}
		for model, price := range p.Prices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO provider_prices (provider, model, prompt_per_mtok, completion_per_mtok) VALUES (?, ?, ?, ?)`,
				p.Name, model, price.PromptPerMTok, price.CompletionPerMTok); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set provider %s: %w", p.Name, err)
	}
	return nil
}

const providerColumns = `name, kind, base_url, model, api_key_secret, timeout_seconds, concurrency, updated_at`

func scanProvider(row interface{ Scan(...any) error }) (*Provider, error) {
	var p Provider
	var updated int64
	if err := row.Scan(&p.Name, &p.Kind, &p.BaseURL, &p.Model, &p.APIKeySecret, &p.TimeoutSeconds, &p.Concurrency, &updated); err != nil {
		return nil, err
	}
	p.UpdatedAt = fromNanos(updated)
	return &p, nil
}

// Provider returns the provider of that name, or ErrNotFound.
func (db *DB) Provider(ctx context.Context, name string) (*Provider, error) {
	p, err := scanProvider(db.db.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("provider %q is not configured", name)
	}
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", name, err)
	}
	prices, err := db.providerPrices(ctx, name)
	if err != nil {
		return nil, err
	}
	p.Prices = prices[name]
	return p, nil
}

// ListProviders returns all providers ordered by name, with their prices.
func (db *DB) ListProviders(ctx context.Context) ([]Provider, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	defer rows.Close()
	out := []Provider{}
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("list providers: %w", err)
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	prices, err := db.providerPrices(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Prices = prices[out[i].Name]
	}
	return out, nil
}

// providerPrices reads the prices of one provider, or of all when name is empty.
func (db *DB) providerPrices(ctx context.Context, name string) (map[string]map[string]Price, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT provider, model, prompt_per_mtok, completion_per_mtok FROM provider_prices
		WHERE ? = '' OR provider = ?`, name, name)
	if err != nil {
		return nil, fmt.Errorf("provider prices: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]Price{}
	for rows.Next() {
		var provider, model string
		var price Price
		if err := rows.Scan(&provider, &model, &price.PromptPerMTok, &price.CompletionPerMTok); err != nil {
			return nil, fmt.Errorf("provider prices: %w", err)
		}
		if out[provider] == nil {
			out[provider] = map[string]Price{}
		}
		out[provider][model] = price
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("provider prices: %w", err)
	}
	return out, nil
}

// DeleteProvider removes a provider and its prices, or returns ErrNotFound.
func (db *DB) DeleteProvider(ctx context.Context, name string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM providers WHERE name = ?`, name)
	return affectedOne(res, err, "delete provider "+name, func() error { return notFoundf("provider %q is not configured", name) })
}

// PricedModels lists the models the provider has prices for, ordered.
func (p *Provider) PricedModels() []string {
	return slices.Sorted(maps.Keys(p.Prices))
}
