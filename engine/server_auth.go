package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"
)

// The embedded frontend's credential. With ServerConfig.Token set, the frontend admits only
// callers that send "Authorization: Bearer TOKEN" (the SDK's API key credentials); anyone
// else who reaches its port, on this host or, with --temporal-listen, another one, gets
// PermissionDenied. The server's own system workers (schedules, batches) cannot send a
// token, so they reach the services through an internal frontend on loopback, which is
// Temporal's design for this case.

// tokenClaims maps the bearer token to the system admin role and anything else to none.
type tokenClaims struct{ want []byte }

func (m tokenClaims) GetClaims(ai *authorization.AuthInfo) (*authorization.Claims, error) {
	if ai != nil && subtle.ConstantTimeCompare([]byte(ai.AuthToken), m.want) == 1 {
		return &authorization.Claims{Subject: "trellis", System: authorization.RoleAdmin}, nil
	}
	return &authorization.Claims{}, nil
}

// adminOnly allows the callers the claim mapper made admins (the token's holders, and the
// internal frontend's callers), and health checks.
type adminOnly struct{}

var (
	allow = authorization.Result{Decision: authorization.DecisionAllow}
	deny  = authorization.Result{Decision: authorization.DecisionDeny, Reason: "the embedded Temporal server wants Trellis's credential"}
)

func (adminOnly) Authorize(_ context.Context, c *authorization.Claims, t *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(t.APIName) || c != nil && c.System&authorization.RoleAdmin != 0 {
		return allow, nil
	}
	return deny, nil
}

// authOptions are the server options that require the token (serverConfig adds the
// internal frontend's service when there is one).
func authOptions(token string) []temporal.ServerOption {
	if token == "" {
		return []temporal.ServerOption{temporal.ForServices(temporal.DefaultServices)}
	}
	services := append(append([]string{}, temporal.DefaultServices...), "internal-frontend")
	return []temporal.ServerOption{
		temporal.ForServices(services),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return tokenClaims{want: []byte("Bearer " + token)}
		}),
		temporal.WithAuthorizer(adminOnly{}),
	}
}

// ClientOptions are o for a client of this server: its address and, with a token, the
// token as an API key over plain gRPC (the frontend listens without TLS).
func (s *Server) ClientOptions(o client.Options) client.Options {
	o.HostPort = s.hostPort
	return WithFrontendToken(o, s.token)
}

// WithFrontendToken is o sending token, the embedded frontend's credential, as an API key
// over plain gRPC (the frontend listens without TLS); o itself when token is empty. serve
// hands the token to its workers; doctor derives it from the data dir.
func WithFrontendToken(o client.Options, token string) client.Options {
	if token != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(token)
		o.ConnectionOptions.TLSDisabled = true
	}
	return o
}

// FrontendToken is the embedded frontend's credential, derived from the data dir's
// decision key: the same after every restart, held only by serve and the workers it trusts.
func FrontendToken(decisionKey []byte) string {
	m := hmac.New(sha256.New, decisionKey)
	m.Write([]byte("trellis embedded temporal frontend"))
	return hex.EncodeToString(m.Sum(nil))
}
