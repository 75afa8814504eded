package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/store"
)

func TestProviderUsageErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("TRELLIS_DATA", data)
	ok := []string{"--kind", "openai", "--base-url", "http://127.0.0.1:11434/v1"}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no name", append([]string{"provider", "set"}, ok...), `trellis: provider set: want one provider name, got 0 arguments; usage: trellis ` + providerSetSynopsis},
		{"bad name", append([]string{"provider", "set", "Default"}, ok...), `trellis: provider set: provider name "Default" is not valid: use 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter (like default)`},
		{"no kind", []string{"provider", "set", "default", "--base-url", "http://x"}, `trellis: provider set: --kind is required (openai or anthropic)`},
		{"unknown kind", []string{"provider", "set", "default", "--kind", "gemini", "--base-url", "http://x"}, `trellis: provider set: provider kind "gemini" is not known: use openai or anthropic`},
		{"no base URL", []string{"provider", "set", "default", "--kind", "openai"}, `trellis: provider set: --base-url is required`},
		{"relative base URL", []string{"provider", "set", "default", "--kind", "openai", "--base-url", "localhost:11434"}, `trellis: provider set: base URL "localhost:11434" is not an absolute http(s) URL`},
		{"key in base URL", []string{"provider", "set", "default", "--kind", "openai", "--base-url", "https://k:sk-1@host"}, `trellis: provider set: the base URL must not hold credentials: store the key as a secret and name it as the API key secret`},
		{"bad secret name", append([]string{"provider", "set", "default", "--api-key-secret", "openai_key"}, ok...), `trellis: provider set: secret name "openai_key" is not valid: use 1 to 64 uppercase letters, digits or '_', starting with a letter (like API_KEY)`},
		{"sub-second timeout", append([]string{"provider", "set", "default", "--timeout", "500ms"}, ok...), `trellis: provider set: --timeout must be whole seconds, at least 1s, got 500ms`},
		{"timeout not a duration", append([]string{"provider", "set", "default", "--timeout", "60"}, ok...), `trellis: provider set: invalid value "60" for --timeout: parse error`},
		{"zero concurrency", append([]string{"provider", "set", "default", "--concurrency", "0"}, ok...), `trellis: provider set: --concurrency must be at least 1, got 0`},
		{"bad price", append([]string{"provider", "set", "default", "--price", "gpt-4o=2.5"}, ok...), `trellis: provider set: invalid value "gpt-4o=2.5" for --price: "gpt-4o=2.5" is not MODEL=PROMPT,COMPLETION (prices per million tokens, like gpt-4o-mini=0.15,0.6)`},
		{"negative price", append([]string{"provider", "set", "default", "--price", "m=-1,2"}, ok...), `trellis: provider set: invalid value "m=-1,2" for --price: price of m: "-1" is not a price (a number, 0 or more)`},
		{"list with argument", []string{"provider", "list", "default"}, `trellis: provider list: takes no arguments`},
		{"delete without name", []string{"provider", "delete"}, `trellis: provider delete: want one provider name, got 0 arguments; usage: trellis ` + providerDeleteSynopsis},
		{"missing subcommand", []string{"provider"}, `trellis: "provider" needs a subcommand (delete, list, set); run 'trellis help'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != 2 || stdout != "" || stderr != tt.wantStderr+"\n" {
				t.Errorf("code %d stdout %q stderr %q\nwant code 2 stderr %q", code, stdout, stderr, tt.wantStderr+"\n")
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed command created the data dir (%v)", err)
			}
		})
	}
}

func TestProviderSetListDelete(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"local Ollama", []string{"provider", "set", "default", "--kind", "openai", "--base-url", "http://127.0.0.1:11434/v1", "--model", "llama3.2", "--data", dir},
			0, "provider default set: openai at http://127.0.0.1:11434/v1, model llama3.2\n", ""},
		{"cloud with a key not yet set", []string{"provider", "set", "claude", "--data", dir, "--kind", "anthropic", "--base-url", "https://api.anthropic.com",
			"--api-key-secret", "ANTHROPIC_KEY", "--timeout", "2m", "--concurrency", "8", "--price", "claude-sonnet-4-5=3,15", "--price", "claude-haiku-4-5=1,5"},
			0, "provider claude set: anthropic at https://api.anthropic.com\nnote: secret ANTHROPIC_KEY is not set yet; set it with: trellis secret set ANTHROPIC_KEY --value-stdin\n", ""},
		{"list", []string{"provider", "list", "--data", dir}, 0,
			"NAME     KIND       BASE URL                   MODEL     KEY SECRET     TIMEOUT  CONCURRENCY  PRICED MODELS\n" +
				"claude   anthropic  https://api.anthropic.com  -         ANTHROPIC_KEY  120s     8            claude-haiku-4-5,claude-sonnet-4-5\n" +
				"default  openai     http://127.0.0.1:11434/v1  llama3.2  -              60s      4            -\n", ""},
		{"delete unknown", []string{"provider", "delete", "nope", "--data", dir}, 1, "", "trellis: provider delete: provider \"nope\" is not configured\n"},
		{"delete", []string{"provider", "delete", "default", "--data", dir}, 0, "provider default deleted\n", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", st.args...)
			if code != st.wantCode || stdout != st.wantStdout || stderr != st.wantStderr {
				t.Errorf("got code %d stdout %q stderr %q\nwant code %d stdout %q stderr %q",
					code, stdout, stderr, st.wantCode, st.wantStdout, st.wantStderr)
			}
		})
	}
	db := openData(t, dir)
	got, err := db.Provider(ctx, "claude")
	if err != nil {
		t.Fatal(err)
	}
	got.UpdatedAt = got.UpdatedAt.UTC()
	want := &store.Provider{Name: "claude", Kind: "anthropic", BaseURL: "https://api.anthropic.com", APIKeySecret: "ANTHROPIC_KEY",
		TimeoutSeconds: 120, Concurrency: 8, UpdatedAt: got.UpdatedAt,
		Prices: map[string]store.Price{"claude-sonnet-4-5": {PromptPerMTok: 3, CompletionPerMTok: 15}, "claude-haiku-4-5": {PromptPerMTok: 1, CompletionPerMTok: 5}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored provider = %+v\nwant              %+v", got, want)
	}
	if _, err := db.Provider(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted provider: %v", err)
	}
}

func TestProviderSetFromEnvAndReplace(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TRELLIS_DATA", dir)
	t.Setenv("TRELLIS_KIND", "openai")
	t.Setenv("TRELLIS_BASE_URL", "https://api.openai.com/v1")
	t.Setenv("TRELLIS_PRICE", "gpt-4o-mini=0.15,0.6; gpt-4o=2.5,10")
	if code, _, stderr := runCLI(t, "", "provider", "set", "default", "--model", "gpt-4o-mini"); code != 0 {
		t.Fatalf("set: %s", stderr)
	}
	db := openData(t, dir)
	got, err := db.Provider(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "https://api.openai.com/v1" || len(got.Prices) != 2 || got.Prices["gpt-4o"].CompletionPerMTok != 10 {
		t.Errorf("provider from env = %+v", got)
	}

	// Setting again writes the whole provider: the prices not given are gone.
	t.Setenv("TRELLIS_PRICE", "")
	if code, _, stderr := runCLI(t, "", "provider", "set", "default", "--base-url", "http://127.0.0.1:8000/v1", "--model", "qwen"); code != 0 {
		t.Fatalf("set again: %s", stderr)
	}
	got, err = db.Provider(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "http://127.0.0.1:8000/v1" || got.Model != "qwen" || got.Prices != nil {
		t.Errorf("replaced provider = %+v", got)
	}
}

func TestProviderListEmpty(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "provider", "list", "--data", t.TempDir())
	if code != 0 || stderr != "" || !strings.Contains(stdout, "trellis provider set default --kind openai --base-url http://127.0.0.1:11434/v1 --model llama3.2") {
		t.Errorf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestEngineProviders(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "", "provider", "set", "claude", "--kind", "anthropic", "--base-url", "https://api.anthropic.com",
		"--model", "claude-haiku-4-5", "--api-key-secret", "ANTHROPIC_KEY", "--timeout", "90s", "--concurrency", "2",
		"--price", "claude-haiku-4-5=1,5", "--data", dir); code != 0 {
		t.Fatalf("set: %s", stderr)
	}
	src := engineProviders{db: openData(t, dir)}
	got, err := src.Provider(context.Background(), "claude")
	if err != nil {
		t.Fatal(err)
	}
	want := &engine.ProviderConfig{Name: "claude", Kind: "anthropic", BaseURL: "https://api.anthropic.com", Model: "claude-haiku-4-5",
		APIKeySecret: "ANTHROPIC_KEY", Timeout: 90 * time.Second, Concurrency: 2,
		Prices: map[string]engine.ModelPrice{"claude-haiku-4-5": {PromptPerMTok: 1, CompletionPerMTok: 5}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Provider = %+v\nwant       %+v", got, want)
	}
	if _, err := src.Provider(context.Background(), "default"); !errors.Is(err, engine.ErrProviderNotFound) ||
		err.Error() != `provider not found: provider "default" is not configured` {
		t.Errorf("missing provider: %v", err)
	}
}
