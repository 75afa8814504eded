package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"trellis/engine"
	"trellis/store"
)

const (
	providerSetSynopsis    = "provider set NAME --kind openai|anthropic --base-url URL [--model M] [--api-key-secret SECRET] [--timeout 60s] [--concurrency 4] [--price MODEL=PROMPT,COMPLETION] [--data DIR]"
	providerListSynopsis   = "provider list [--data DIR]"
	providerDeleteSynopsis = "provider delete NAME [--data DIR]"
)

// runProviderSet configures an LLM provider. It writes the whole provider: flags not given
// take their defaults, and the prices given replace the stored ones.
func runProviderSet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("provider set")
	data := fs.String("data", defaultDataDir, "data directory")
	kind := fs.String("kind", "", "protocol: openai (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, compatible gateways) or anthropic")
	baseURL := fs.String("base-url", "", "API root, e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama) or https://api.anthropic.com")
	model := fs.String("model", "", "model used by llm nodes that name none")
	keySecret := fs.String("api-key-secret", "", "name of the Trellis secret holding the API key (see 'trellis secret set'); none for local servers")
	timeout := fs.Duration("timeout", store.DefaultProviderTimeoutSeconds*time.Second, "how long one call may take, in whole seconds")
	concurrency := fs.Int("concurrency", store.DefaultProviderConcurrency, "calls in flight at once, per worker")
	var prices priceFlag
	fs.Var(&prices, "price", "what MODEL costs per million prompt and completion tokens, as MODEL=PROMPT,COMPLETION; repeat it, or separate several with ';'")
	if err := parseCommand(fs, args, stdout, providerSetSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("provider set: want one provider name, got %d arguments; usage: trellis %s", fs.NArg(), providerSetSynopsis)
	}
	name := fs.Arg(0)
	if err := store.ValidateProviderName(name); err != nil {
		return fmt.Errorf("provider set: %w", err)
	}
	switch {
	case *kind == "":
		return usagef("provider set: --kind is required (%s)", strings.Join(store.ProviderKinds, " or "))
	case *baseURL == "":
		return usagef("provider set: --base-url is required")
	case *timeout < time.Second || *timeout%time.Second != 0:
		return usagef("provider set: --timeout must be whole seconds, at least 1s, got %s", *timeout)
	case *concurrency < 1:
		return usagef("provider set: --concurrency must be at least 1, got %d", *concurrency)
	}
	p := store.Provider{Name: name, Kind: *kind, BaseURL: *baseURL, Model: *model, APIKeySecret: *keySecret,
		TimeoutSeconds: int(*timeout / time.Second), Concurrency: *concurrency, Prices: prices.m}
	// Checked before the data dir is opened, so that a bad value writes nothing.
	if err := store.ValidateProvider(p); err != nil {
		return fmt.Errorf("provider set: %w", err)
	}

	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetProvider(ctx, p); err != nil {
		return fmt.Errorf("provider set: %w", err)
	}
	desc := fmt.Sprintf("provider %s set: %s at %s", name, p.Kind, strings.TrimSpace(p.BaseURL))
	if p.Model != "" {
		desc += ", model " + p.Model
	}
	fmt.Fprintln(stdout, desc)
	if p.APIKeySecret != "" {
		if _, err := db.Secret(ctx, p.APIKeySecret); errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stdout, "note: secret %s is not set yet; set it with: trellis secret set %s --value-stdin\n", p.APIKeySecret, p.APIKeySecret)
		}
	}
	return nil
}

// runProviderList prints the configured providers, one a line.
func runProviderList(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	return runList(ctx, "provider list", providerListSynopsis, args, stdout, table[store.Provider]{
		fetch:  (*store.DB).ListProviders,
		empty:  "no providers; configure one with: trellis provider set default --kind openai --base-url http://127.0.0.1:11434/v1 --model llama3.2",
		header: "NAME\tKIND\tBASE URL\tMODEL\tKEY SECRET\tTIMEOUT\tCONCURRENCY\tPRICED MODELS",
		row: func(p store.Provider) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%ds\t%d\t%s", p.Name, p.Kind, p.BaseURL, dash(p.Model), dash(p.APIKeySecret),
				p.TimeoutSeconds, p.Concurrency, dash(strings.Join(p.PricedModels(), ",")))
		},
	})
}

// runProviderDelete removes a provider.
func runProviderDelete(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("provider delete")
	data := fs.String("data", defaultDataDir, "data directory")
	if err := parseCommand(fs, args, stdout, providerDeleteSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("provider delete: want one provider name, got %d arguments; usage: trellis %s", fs.NArg(), providerDeleteSynopsis)
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.DeleteProvider(ctx, fs.Arg(0)); err != nil {
		return fmt.Errorf("provider delete: %w", err)
	}
	fmt.Fprintf(stdout, "provider %s deleted\n", fs.Arg(0))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// priceFlag collects --price MODEL=PROMPT,COMPLETION values.
type priceFlag struct{ m map[string]store.Price }

func (f *priceFlag) String() string { return "" }

func (f *priceFlag) Set(v string) error {
	for _, item := range strings.Split(v, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, costs, ok := strings.Cut(item, "=")
		prompt, completion, ok2 := strings.Cut(costs, ",")
		model = strings.TrimSpace(model)
		if !ok || !ok2 || model == "" {
			return fmt.Errorf("%q is not MODEL=PROMPT,COMPLETION (prices per million tokens, like gpt-4o-mini=0.15,0.6)", item)
		}
		var p store.Price
		var err error
		if p.PromptPerMTok, err = parsePrice(prompt); err != nil {
			return fmt.Errorf("price of %s: %w", model, err)
		}
		if p.CompletionPerMTok, err = parsePrice(completion); err != nil {
			return fmt.Errorf("price of %s: %w", model, err)
		}
		if f.m == nil {
			f.m = map[string]store.Price{}
		}
		f.m[model] = p
	}
	return nil
}

func parsePrice(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v != v || v > 1e9 {
		return 0, fmt.Errorf("%q is not a price (a number, 0 or more)", strings.TrimSpace(s))
	}
	return v, nil
}

// engineProviders gives the engine's llm activity the providers in the store; it is what
// serve and worker pass as engine.Deps.Providers.
type engineProviders struct{ db *store.DB }

func (p engineProviders) Provider(ctx context.Context, name string) (*engine.ProviderConfig, error) {
	sp, err := p.db.Provider(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %v", engine.ErrProviderNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	pc := &engine.ProviderConfig{Name: sp.Name, Kind: sp.Kind, BaseURL: sp.BaseURL, Model: sp.Model,
		APIKeySecret: sp.APIKeySecret, Timeout: time.Duration(sp.TimeoutSeconds) * time.Second,
		Concurrency: sp.Concurrency}
	if len(sp.Prices) > 0 {
		pc.Prices = make(map[string]engine.ModelPrice, len(sp.Prices))
		for model, price := range sp.Prices {
			pc.Prices[model] = engine.ModelPrice{PromptPerMTok: price.PromptPerMTok, CompletionPerMTok: price.CompletionPerMTok}
		}
	}
	return pc, nil
}
