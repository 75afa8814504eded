package engine

import "net/http"

// guardedClient is the client for an outbound call that is not an http node's (the
// notification webhook): base (Deps.HTTPClient) when it brings its own transport, otherwise
// a client whose transport dials through the outbound policy, so these calls are held to the
// same addresses as http nodes. A nil policy allows every address, as for http nodes. The
// returned close func drops the transport's idle connections when it is a fresh one.
func guardedClient(base *http.Client, p *OutboundPolicy) (*http.Client, func()) {
	c := &http.Client{}
	if base != nil {
		cp := *base
		c = &cp
	}
	if p == nil || c.Transport != nil {
		return c, func() {}
	}
	g, err := newOutboundGuard(*p)
	if err != nil {
		// serve and worker check the policy first; fail closed if one got through.
		g, _ = newOutboundGuard(OutboundPolicy{})
	}
	t := g.transport()
	c.Transport = t
	return c, t.CloseIdleConnections
}
