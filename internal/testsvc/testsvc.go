// Package testsvc starts the local HTTP services that runs call in tests.
//
// A test's service listens on a port the kernel picks, and a port closed at the end of one
// test can be handed to the next. A run of an earlier test (or of a test in another package
// running beside it) that is still retrying would then call the new test's service and spoil
// its counts. Each service here answers only under a fresh path token that its URL carries, so
// such a stray request gets a 404 and never reaches the handler.
package testsvc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// New starts h on a local port for the test's lifetime. The returned server's URL ends in the
// path token; h sees request paths without it, so a handler that checks r.URL.Path == "/x"
// works unchanged for a request to URL+"/x".
func New(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	prefix := "/svc-" + token()
	name := tb.Name()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != prefix && !strings.HasPrefix(r.URL.Path, prefix+"/") {
			// Written to stderr, not the test log: the test that owns the request may have
			// ended. go test shows it only when the package fails.
			fmt.Fprintf(os.Stderr, "testsvc: %s's service refused a stray request %s %s (Idempotency-Key %q)\n",
				name, r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"))
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, strip(r, prefix))
	})
	srv.Start()
	srv.URL += prefix
	tb.Cleanup(srv.Close)
	return srv
}

// Func is New for a handler function.
func Func(tb testing.TB, f func(http.ResponseWriter, *http.Request)) *httptest.Server {
	tb.Helper()
	return New(tb, http.HandlerFunc(f))
}

func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// strip is http.StripPrefix that also strips RequestURI, which some tests read.
func strip(r *http.Request, prefix string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	r2.URL = &u
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
	r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	r2.RequestURI = strings.TrimPrefix(r.RequestURI, prefix)
	if r2.URL.Path == "" {
		r2.URL.Path = "/"
	}
	return r2
}
