package testsvc

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestStrayRequestsNeverReachTheHandler(t *testing.T) {
	var hits atomic.Int64
	var path, uri atomic.Value
	srv := Func(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		path.Store(r.URL.Path)
		uri.Store(r.RequestURI)
		io.WriteString(w, "ok")
	})
	resp, err := http.Get(srv.URL + "/x?q=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 1 || path.Load() != "/x" || uri.Load() != "/x?q=1" {
		t.Fatalf("own request: status %d, hits %d, path %v", resp.StatusCode, hits.Load(), path.Load())
	}
	// The same port without the token: what an earlier test's run would send.
	base := srv.URL[:strings.LastIndex(srv.URL, "/svc-")]
	resp, err = http.Get(base + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || hits.Load() != 1 {
		t.Fatalf("stray request: status %d, hits %d", resp.StatusCode, hits.Load())
	}
}
