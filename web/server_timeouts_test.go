package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// serveWithTimeouts serves app's HTTPServer (with its timeouts) on a loopback port.
func serveWithTimeouts(t *testing.T, cfg func(*Config), routes ...Route) string {
	t.Helper()
	setup := appSetup{Config: Config{}, Deps: Deps{}}
	cfg(&setup.Config)
	srv := newServer(setup.Config, setup.Deps, routes)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String()
}

// Found by the probe: only ReadHeaderTimeout was set, so 300 connections sending a body
// slowly stayed open. A connection that stops sending its body is now closed.
func TestSlowBodyConnectionClosed(t *testing.T) {
	addr := serveWithTimeouts(t, func(c *Config) { c.ReadTimeout = time.Second })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=a")
	if err != nil {
		t.Fatal(err)
	}
	// The server gives up on the body and closes; without a read timeout this read waits
	// for the whole deadline and fails the test.
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a slow-body connection open for 60 s")
	}
}

// The write timeout must not cut a server-sent event stream: each write of a
// text/event-stream response gets the timeout afresh, while the stream lives.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	next := make(chan struct{})
	stream := func(c echo.Context) error {
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			if _, err := io.WriteString(w, "event: tick\ndata: "+string(rune('0'+i))+"\n\n"); err != nil {
				return nil
			}
			w.Flush()
			select {
			case <-next:
			case <-c.Request().Context().Done():
				return nil
			}
		}
		return nil
	}
	plain := func(c echo.Context) error {
		<-next
		return c.String(http.StatusOK, "late")
	}
	addr := serveWithTimeouts(t, func(c *Config) { c.WriteTimeout = time.Second; c.ReadTimeout = time.Second },
		Route{Method: http.MethodGet, Path: "/stream-probe", Public: true, Handler: stream},
		Route{Method: http.MethodGet, Path: "/plain-probe", Public: true, Handler: plain})

	resp, err := http.Get("http://" + addr + "/stream-probe")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended after %q: %v", b.String(), err)
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	for i := range 3 {
		if ev := readEvent(); !strings.Contains(ev, "data: "+string(rune('0'+i))) {
			t.Fatalf("event %d = %q", i, ev)
		}
		if i < 2 {
			// Let the write deadline the server set pass before the next event.
			time.Sleep(1500 * time.Millisecond)
			next <- struct{}{}
		}
	}

	// Any other response is still bound by the write timeout: one that takes longer is cut.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		close(next)
	}()
	r, err := http.Get("http://" + addr + "/plain-probe")
	if err == nil {
		body, rerr := io.ReadAll(r.Body)
		r.Body.Close()
		if rerr == nil && string(body) == "late" {
			t.Fatal("a plain response outlived the write timeout")
		}
	}
}
