package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// ProviderStore is what the LLM provider and secret admin pages need of the store (*store.DB
// implements it). Errors: store.ErrInvalid from SetProvider and SetSecret for a value they
// refuse, with a message safe to show; store.ErrNotFound from DeleteProvider for an unknown
// name. There is no way to read a secret's value through it, on purpose.
type ProviderStore interface {
	ListProviders(ctx context.Context) ([]store.Provider, error)
	SetProvider(ctx context.Context, p store.Provider) error
	DeleteProvider(ctx context.Context, name string) error
	ListSecretNames(ctx context.Context) ([]string, error)
	SetSecret(ctx context.Context, name, value string) error
	// SetSecretHosts binds a secret to hosts (none: any); AllSecretHosts lists the bound ones.
	SetSecretHosts(ctx context.Context, name string, hosts []string) error
	AllSecretHosts(ctx context.Context) (map[string][]string, error)
}

// needProviders answers 503 when the server was built without a provider store.
func (s *Server) needProviders(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Providers == nil {
			return NewError(http.StatusServiceUnavailable, "Provider and secret administration is not available on this server.")
		}
		return h(c)
	}
}
