package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"trellis/engine"
	"trellis/web"
)

// serveClient is a remote worker's view of serve: the engine's SecretSource and
// ProviderSource over serve's internal API, authenticated with a worker token. Values come
// back in answers and go only to the activity that asked; they are never logged.
type serveClient struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// maxInternalAnswer bounds what the worker reads of one answer: a secret of the largest size,
// JSON-escaped, fits.
const maxInternalAnswer = 4 << 20

func newServeClient(rawURL, token string) (*serveClient, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--serve-url %q: want serve's address, like https://trellis.example.com", rawURL)
	}
	return &serveClient{base: u, token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// errNotFound is what get returns for a 404, wrapped with serve's message.
var errNotFound = errors.New("not found")

// get fetches /api/v1/internal/<path> into out; path's segments are escaped.
func (s *serveClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base.String()+"/api/v1/internal/"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ask serve at %s: %w", s.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInternalAnswer))
	if err != nil {
		return fmt.Errorf("read serve's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		msg := resp.Status
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		switch resp.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %s", errNotFound, msg)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("serve at %s refused the worker token (%d): %s", s.base, resp.StatusCode, msg)
		}
		return fmt.Errorf("serve at %s answered %d: %s", s.base, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode serve's answer for %s: %w", path, err)
	}
	return nil
}

func (s *serveClient) Secret(ctx context.Context, name string) (string, error) {
	var sec web.WorkerSecret
	err := s.get(ctx, "secrets/"+url.PathEscape(name), &sec)
	if errors.Is(err, errNotFound) {
		return "", fmt.Errorf("%w: %v", engine.ErrSecretNotFound, err)
	}
	return sec.Value, err
}

// SecretHosts are the hosts serve binds a secret to (engine.SecretHostSource).
func (s *serveClient) SecretHosts(ctx context.Context, name string) ([]string, error) {
	var sec web.WorkerSecret
	err := s.get(ctx, "secrets/"+url.PathEscape(name), &sec)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: %v", engine.ErrSecretNotFound, err)
	}
	return sec.Hosts, err
}

func (s *serveClient) Provider(ctx context.Context, name string) (*engine.ProviderConfig, error) {
	var p engine.ProviderConfig
	err := s.get(ctx, "providers/"+url.PathEscape(name), &p)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: %v", engine.ErrProviderNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// hello checks the token and returns the Temporal namespace and task queue serve uses.
func (s *serveClient) hello(ctx context.Context) (web.WorkerHello, error) {
	var h web.WorkerHello
	err := s.get(ctx, "hello", &h)
	if errors.Is(err, errNotFound) {
		return h, fmt.Errorf("%s has no worker API: is it trellis serve (of this version)?", s.base)
	}
	return h, err
}
