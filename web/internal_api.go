package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/engine"
)

// WorkerSource is what serve hands workers on other machines: the same secrets and providers
// its own worker's activities read (cmd implements it over the store).
type WorkerSource interface {
	// Secret returns a secret's value, or an error wrapping engine.ErrSecretNotFound.
	Secret(ctx context.Context, name string) (string, error)
	// Provider returns an LLM provider, or an error wrapping engine.ErrProviderNotFound.
	Provider(ctx context.Context, name string) (*engine.ProviderConfig, error)
	// Temporal is the namespace and task queue serve's runs use, for workers to check theirs.
	Temporal() (namespace, taskQueue string)
}

// WorkerHello answers GET /api/v1/internal/hello: a worker checks its token and its Temporal
// settings with it before it starts.
type WorkerHello struct {
	Namespace string `json:"namespace"`
	TaskQueue string `json:"task_queue"`
	// DecisionKey lets the worker check that serve signed each decision
	// (engine/decision_proof.go); empty when the source has none.
	DecisionKey []byte `json:"decision_key,omitempty"`
	// TemporalToken is the credential of serve's embedded Temporal frontend
	// (engine/server_auth.go); empty when serve uses a cluster of its own.
	TemporalToken string `json:"temporal_token,omitempty"`
}

// WorkerSecret answers GET /api/v1/internal/secrets/{name}.
type WorkerSecret struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Hosts are the hosts the secret may be sent to; none: any host.
	Hosts []string `json:"hosts,omitempty"`
}

func (s *Server) internalHello(c echo.Context) error {
	ns, tq := s.deps.Worker.Temporal()
	h := WorkerHello{Namespace: ns, TaskQueue: tq}
	if k, ok := s.deps.Worker.(interface{ DecisionKey() []byte }); ok {
		h.DecisionKey = k.DecisionKey()
	}
	if t, ok := s.deps.Worker.(interface{ TemporalToken() string }); ok {
		h.TemporalToken = t.TemporalToken()
	}
	return c.JSON(http.StatusOK, h)
}

func (s *Server) internalSecretShow(c echo.Context) error {
	name := c.Param("name")
	v, err := s.deps.Worker.Secret(c.Request().Context(), name)
	if errors.Is(err, engine.ErrSecretNotFound) {
		return NewError(http.StatusNotFound, fmt.Sprintf("Secret %s is not set.", name))
	}
	if err != nil {
		return err // logged; it names the secret, never its value
	}
	out := WorkerSecret{Name: name, Value: v}
	if hs, ok := s.deps.Worker.(engine.SecretHostSource); ok {
		if out.Hosts, err = hs.SecretHosts(c.Request().Context(), name); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

// internalProviderShow answers GET /api/v1/internal/providers/{name} with the provider as
// engine.ProviderConfig; its API key stays a secret's name.
func (s *Server) internalProviderShow(c echo.Context) error {
	name := c.Param("name")
	p, err := s.deps.Worker.Provider(c.Request().Context(), name)
	if errors.Is(err, engine.ErrProviderNotFound) {
		return NewError(http.StatusNotFound, fmt.Sprintf("No LLM provider named %s is configured.", name))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
