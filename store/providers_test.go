package store

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSetProviderValidates(t *testing.T) {
	valid := Provider{Name: "default", Kind: "openai", BaseURL: "http://127.0.0.1:11434/v1"}
	tests := []struct {
		name    string
		edit    func(p *Provider)
		wantErr string // "" means valid
	}{
		{"minimal", func(p *Provider) {}, ""},
		{"anthropic", func(p *Provider) { p.Kind, p.BaseURL = "anthropic", "https://api.anthropic.com" }, ""},
		{"name with dash and underscore", func(p *Provider) { p.Name = "open-ai_2" }, ""},
		{"name uppercase", func(p *Provider) { p.Name = "Default" }, `provider name "Default" is not valid`},
		{"name leading digit", func(p *Provider) { p.Name = "1st" }, `provider name "1st" is not valid`},
		{"name too long", func(p *Provider) { p.Name = "a" + strings.Repeat("b", 32) }, "is not valid"},
		{"name empty", func(p *Provider) { p.Name = "" }, `provider name "" is not valid`},
		{"unknown kind", func(p *Provider) { p.Kind = "gemini" }, `provider kind "gemini" is not known: use openai or anthropic`},
		{"no base URL", func(p *Provider) { p.BaseURL = " " }, "provider default needs a base URL"},
		{"relative base URL", func(p *Provider) { p.BaseURL = "api.openai.com/v1" }, `base URL "api.openai.com/v1" is not an absolute http(s) URL`},
		{"ftp base URL", func(p *Provider) { p.BaseURL = "ftp://host" }, "is not an absolute http(s) URL"},
		{"credentials in URL", func(p *Provider) { p.BaseURL = "https://user:sk-123@host/v1" }, "must not hold credentials"},
		{"query in URL", func(p *Provider) { p.BaseURL = "https://host/v1?api-version=1" }, "must not have a query"},
		{"bad secret name", func(p *Provider) { p.APIKeySecret = "openai-key" }, `secret name "openai-key" is not valid`},
		{"timeout too long", func(p *Provider) { p.TimeoutSeconds = 3601 }, "the timeout must be between 1 second and 3600 seconds"},
		{"negative timeout", func(p *Provider) { p.TimeoutSeconds = -1 }, "the timeout must be between"},
		{"concurrency too high", func(p *Provider) { p.Concurrency = 257 }, "the concurrency must be between 1 and 256"},
		{"model with newline", func(p *Provider) { p.Model = "gpt\n4" }, "must not contain control characters"},
		{"negative price", func(p *Provider) { p.Prices = map[string]Price{"gpt-4o": {PromptPerMTok: -1}} }, "the price of model gpt-4o must be a number, 0 or more"},
		{"NaN price", func(p *Provider) { p.Prices = map[string]Price{"gpt-4o": {CompletionPerMTok: math.NaN()}} }, "must be a number"},
		{"empty price model", func(p *Provider) { p.Prices = map[string]Price{" ": {}} }, "a price needs a model name"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenTest(t)
			p := valid
			tt.edit(&p)
			err := db.SetProvider(ctx, p)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("SetProvider = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SetProvider = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
			if list, _ := db.ListProviders(ctx); len(list) != 0 {
				t.Errorf("an invalid provider was stored: %+v", list)
			}
		})
	}
}

func TestProvidersRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	db := MustOpenTestWith(t, Options{Now: clock.Now})

	if _, err := db.Provider(ctx, "default"); !errors.Is(err, ErrNotFound) || err.Error() != `provider "default" is not configured` {
		t.Fatalf("Provider before set = %v, want ErrNotFound", err)
	}
	local := Provider{Name: "default", Kind: "openai", BaseURL: " http://127.0.0.1:11434/v1 ", Model: "llama3.2"}
	if err := db.SetProvider(ctx, local); err != nil {
		t.Fatal(err)
	}
	got, err := db.Provider(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	want := &Provider{Name: "default", Kind: "openai", BaseURL: "http://127.0.0.1:11434/v1", Model: "llama3.2",
		TimeoutSeconds: DefaultProviderTimeoutSeconds, Concurrency: DefaultProviderConcurrency, UpdatedAt: clock.Now()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Provider = %+v\nwant       %+v", got, want)
	}

	clock.Advance(time.Hour)
	cloud := Provider{Name: "claude", Kind: "anthropic", BaseURL: "https://api.anthropic.com", Model: "claude-sonnet-4-5",
		APIKeySecret: "ANTHROPIC_KEY", TimeoutSeconds: 120, Concurrency: 8,
		Prices: map[string]Price{"claude-sonnet-4-5": {3, 15}, "claude-haiku-4-5": {1, 5}}}
	if err := db.SetProvider(ctx, cloud); err != nil {
		t.Fatal(err)
	}
	got, err = db.Provider(ctx, "claude")
	if err != nil {
		t.Fatal(err)
	}
	cloud.UpdatedAt = clock.Now()
	if !reflect.DeepEqual(got, &cloud) {
		t.Errorf("Provider = %+v\nwant       %+v", got, &cloud)
	}
	if m := got.PricedModels(); !reflect.DeepEqual(m, []string{"claude-haiku-4-5", "claude-sonnet-4-5"}) {
		t.Errorf("PricedModels = %v", m)
	}

	// Setting again replaces everything, prices included.
	clock.Advance(time.Hour)
	cloud.Prices = map[string]Price{"claude-opus-4-1": {15, 75}}
	cloud.Model = "claude-opus-4-1"
	if err := db.SetProvider(ctx, cloud); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "claude" || list[1].Name != "default" {
		t.Fatalf("ListProviders = %+v, want claude then default", list)
	}
	if !reflect.DeepEqual(list[0].Prices, cloud.Prices) || list[0].Model != "claude-opus-4-1" || !list[0].UpdatedAt.Equal(clock.Now()) {
		t.Errorf("replaced provider = %+v", list[0])
	}
	if list[1].Prices != nil {
		t.Errorf("default has prices %v, want none", list[1].Prices)
	}

	if err := db.DeleteProvider(ctx, "claude"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProvider(ctx, "claude"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteProvider = %v, want ErrNotFound", err)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM provider_prices`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d prices left after delete (%v), want 0", n, err)
	}
	if list, _ := db.ListProviders(ctx); len(list) != 1 {
		t.Errorf("ListProviders after delete = %+v", list)
	}
}
