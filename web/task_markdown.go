package web

import (
	"bytes"
	"html"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Instructions are Markdown written by analysts into a graph and rendered for reviewers,
// with values from the run (which may come from anyone) filled into them. So two layers:
// goldmark renders without html.WithUnsafe, which drops raw HTML and javascript: links; then
// bluemonday keeps only the elements and attributes Markdown itself produces, with http,
// https and mailto links that open safely.
var (
	taskMarkdown = goldmark.New(goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough, extension.Linkify))
	taskPolicy = newTaskPolicy()
)

func newTaskPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "code", "pre",
		"blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
	p.AllowAttrs("href", "title").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// Images are left out: the CSP allows none from elsewhere, and a remote image would tell
	// its host who opened the task and when.
	return p
}

// renderInstructions turns a task's Markdown into HTML that is safe to insert into a page.
func renderInstructions(md string) string {
	if md == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := taskMarkdown.Convert([]byte(md), &buf); err != nil {
		// goldmark fails only on writer errors; show the source as text instead.
		return "<pre>" + html.EscapeString(md) + "</pre>"
	}
	return string(taskPolicy.SanitizeBytes(buf.Bytes()))
}
