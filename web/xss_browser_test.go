package web

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"trellis/store"
)

// TestBrowserXSSNoDialog loads, in Chromium, every page TestStoredXSSEscaped reads, with the
// same payloads stored (alert(1) to alert(6): script tags, onerror, autofocus onfocus,
// onmouseover, a javascript: link, an onclick), and asserts that no JavaScript dialog opens
// on any of them once it has loaded, its images have settled and htmx is idle. The page's
// CSP would block inline script too, but a CSP violation is a console error, which fails
// browser tests as well. A dialog opened through DevTools at the end proves the listener
// hears dialogs, so the test cannot pass by listening to nothing.
func TestBrowserXSSNoDialog(t *testing.T) {
	requireChromium(t)
	var b *browser
	var mu sync.Mutex
	var dialogs []string
	opened := make(chan struct{}, 16)
	sweep := func(pages ...string) {
		t.Helper()
		for _, p := range pages {
			b.open(p)
			b.waitJS("page "+p+" settled", `document.readyState === "complete" &&
				[...document.images].every(i => i.complete) && !document.querySelector(".htmx-request")`)
			// Hover and focus everything, for handlers that need either.
			b.do("hover and focus on "+p, chromedp.Evaluate[chromedp.Void](`for (const el of document.querySelectorAll("body *")) {
				el.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})); if (el.focus) el.focus(); }`))
			b.waitJS("page "+p+" settled again", `!document.querySelector(".htmx-request")`)
			mu.Lock()
			if len(dialogs) > 0 {
				t.Errorf("%s opened JavaScript dialogs: %q", p, dialogs)
				dialogs = nil
			}
			mu.Unlock()
		}
	}
	seed := seedXSS(t, func(s *xssSeed) {
		b = newBrowser(t, s.app)
		if err := chromedp.Listen(b.ctx, func(ev any) {
			if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				mu.Lock()
				dialogs = append(dialogs, string(d.Type)+": "+d.Message)
				mu.Unlock()
				select {
				case opened <- struct{}{}:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		// A dialog left open stalls the page: dismiss each, off the listener's goroutine.
		go func() {
			for {
				select {
				case <-b.ctx.Done():
					return
				case <-opened:
				}
				_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
					return err
				}))
			}
		}()
		s.app.user("xss-viewer", store.RoleAdmin, store.RoleReviewer)
		b.login("xss-viewer", testPassword)
		sweep(s.openPages()...)
	})
	sweep(seed.pages()...)

	// The control: a dialog the test opens itself is heard.
	b.do("open a dialog", chromedp.Evaluate[chromedp.Void](`setTimeout(() => alert("control"), 0)`))
	b.do("wait for the control", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			mu.Lock()
			n := len(dialogs)
			mu.Unlock()
			if n > 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) != 1 || dialogs[0] != "alert: control" {
		t.Fatalf("the control dialog was heard as %q, want one alert", dialogs)
	}
}
