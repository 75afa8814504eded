package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/store"
	"trellis/templates"
)

// Browser tests of the editor's layout: routed edges, badges and port labels on the canvas,
// the problems list beside the form, and the panes at narrow widths.

// edgesClearOfNodes is a script that samples every edge path of the editor and returns the
// edges that pass through a node other than their own two, or far outside all nodes.
const edgesClearOfNodes = `(() => {
	const m = window.trellisEditor.model;
	const boxes = m.nodes.map((n) => { const p = m.pos(n), s = m.size(n); return { id: n.id, x: p.x, y: p.y, w: s.w, h: s.h }; });
	const x0 = Math.min(...boxes.map((b) => b.x)) - 60, x1 = Math.max(...boxes.map((b) => b.x + b.w)) + 60;
	const y0 = Math.min(...boxes.map((b) => b.y)) - 60, y1 = Math.max(...boxes.map((b) => b.y + b.h)) + 60;
	const bad = [];
	for (const g of document.querySelectorAll("#edges-layer .edge")) {
		const e = m.edges[Number(g.dataset.index)];
		const path = g.querySelector(".edge-line");
		const len = path.getTotalLength();
		for (let d = 0; d <= len; d += 4) {
			const p = path.getPointAtLength(d);
			const inside = boxes.find((b) => b.id !== e.from && b.id !== e.to && p.x > b.x && p.x < b.x + b.w && p.y > b.y && p.y < b.y + b.h);
			if (inside) { bad.push(g.dataset.testid + " crosses " + inside.id); break; }
			if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1) { bad.push(g.dataset.testid + " swings off to " + Math.round(p.x) + "," + Math.round(p.y)); break; }
		}
	}
	return bad;
})()`

// TestBrowserEditorEdgeRouting (issue 11, item 8): an edge to a node on its left, an error
// edge back and down, and an edge past a node in its way go round the nodes, leave their exit
// to the right and enter their target from the left; moving a node routes them again.
func TestBrowserEditorEdgeRouting(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Routes","nodes":[
		{"id":"a","kind":"transform","position":{"x":0,"y":0},"config":{"value":"1"}},
		{"id":"b","kind":"transform","position":{"x":300,"y":0},"config":{"value":"1"}},
		{"id":"c","kind":"transform","position":{"x":600,"y":0},"config":{"value":"1"},"on_error":"continue"},
		{"id":"d","kind":"wait","position":{"x":0,"y":200},"config":{"duration":"1m"}}],
		"edges":[{"from":"a","to":"b"},{"from":"b","to":"c"},{"from":"a","to":"c"},{"from":"c","to":"a","port":"error"},{"from":"c","to":"d","port":"error"}]}`
	id := createGraphIn(t, app, "Routes", doc)
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.fitView()
	if bad := evalJS[[]string](b, edgesClearOfNodes); len(bad) > 0 {
		t.Fatalf("edges through nodes or off the canvas: %v", bad)
	}
	// Every edge ends at its target's entry, coming from the left.
	ends := evalJS[[]string](b, `(() => { const out = []; const ed = window.trellisEditor;
		for (const g of document.querySelectorAll("#edges-layer .edge")) {
			const e = ed.model.edges[Number(g.dataset.index)], path = g.querySelector(".edge-line");
			const len = path.getTotalLength(), end = path.getPointAtLength(len), before = path.getPointAtLength(len - 6);
			const want = ed.canvas.inPoint(ed.model.node(e.to));
			if (Math.abs(end.x - want.x) > 0.5 || Math.abs(end.y - want.y) > 0.5 || !(before.x < end.x) || Math.abs(before.y - end.y) > 0.5) out.push(g.dataset.testid);
		} return out; })()`)
	if len(ends) > 0 {
		t.Fatalf("edges that stop short or enter from the wrong side: %v", ends)
	}
	b.screenshot("editor-routes")

	// The editor's route.js routes exactly as the server's drawings do (templates/graphroute.go).
	// Labels go to the same place too (for a label Width wide).
	type routeCase struct {
		Boxes    []templates.RouteBox `json:"boxes"`
		From, To int
		A, B     templates.RoutePoint
		Width    float64
		Clear    float64
	}
	rnd := rand.New(rand.NewPCG(11, 8))
	var cases []routeCase
	for range 60 {
		var c routeCase
		for range 2 + rnd.IntN(6) {
			c.Boxes = append(c.Boxes, templates.RouteBox{X: float64(rnd.IntN(12) * 80), Y: float64(rnd.IntN(8) * 60), W: 208, H: 56})
		}
		c.From, c.To = rnd.IntN(len(c.Boxes)), rnd.IntN(len(c.Boxes))
		if c.From == c.To {
			continue
		}
		f, to := c.Boxes[c.From], c.Boxes[c.To]
		c.A = templates.RoutePoint{X: f.X + f.W + 5, Y: f.Y + 18 + float64(rnd.IntN(2))*20}
		c.B = templates.RoutePoint{X: to.X - 4, Y: to.Y + to.H/2}
		c.Width = float64(30 + rnd.IntN(150))
		c.Clear = []float64{templates.RouteLabelClear, templates.RouteStub}[rnd.IntN(2)]
		cases = append(cases, c)
	}
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	script := `(async () => {
		const src = document.querySelector('script[src*="js/editor/main.js"]').src.replace("main.js", "route.js");
		const r = await import(src);
		const p = (q) => ({ x: q.X, y: q.Y });
		return ` + string(data) + `.map((c) => { const boxes = c.boxes.map((b) => ({ x: b.X, y: b.Y, w: b.W, h: b.H }));
			const pts = r.routeEdge(p(c.A), p(c.B), boxes[c.From], boxes[c.To], boxes), at = r.labelPoint(pts, c.Width, c.Clear, boxes);
			return r.routePath(pts) + " label " + at.x + " " + at.y + " room " + at.room; });
	})()`
	js := browserRun(b, "route in the page", chromedp.Evaluate[[]string](script, chromedp.EvalAwaitPromise))
	if len(js) != len(cases) {
		t.Fatalf("route.js gave %d routes for %d cases", len(js), len(cases))
	}
	for i, c := range cases {
		pts := templates.RouteEdge(c.A, c.B, c.Boxes[c.From], c.Boxes[c.To], c.Boxes)
		at := templates.RouteLabelPoint(pts, c.Width, c.Clear, c.Boxes)
		want := templates.RoutePath(pts) + " label " + jsNum(at.X) + " " + jsNum(at.Y) + " room " + jsNum(at.Room)
		if js[i] != want {
			t.Fatalf("case %d %+v: route.js gives %q, graphroute.go %q", i, c, js[i], want)
		}
	}

	// Move d under b: the edges are routed again around it.
	b.do("move d", chromedp.Evaluate[chromedp.Void](`(() => { const ed = window.trellisEditor; ed.selectNodes(["d"]); ed.nudge(300, -120); })()`))
	if bad := evalJS[[]string](b, edgesClearOfNodes); len(bad) > 0 {
		t.Fatalf("after moving a node: %v", bad)
	}
}

// jsNum formats a number as JavaScript's String(number) does for the values of a drawing.
func jsNum(f float64) string {
	if math.IsInf(f, 1) {
		return "Infinity"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TestBrowserEditorEdgeLabelsClearPortNames (issue 11): the labels of edges leaving a node's
// out and error exits (a condition, the error exit's name) cover neither exit's name beside
// the node, also when the next node is close.
func TestBrowserEditorEdgeLabelsClearPortNames(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Labels","nodes":[
		{"id":"c","kind":"http","position":{"x":0,"y":0},"config":{"url":"https://example.com"},"on_error":"continue"},
		{"id":"ok","kind":"transform","position":{"x":300,"y":-40},"config":{"value":"1"}},
		{"id":"bad","kind":"transform","position":{"x":300,"y":60},"config":{"value":"1"}},
		{"id":"near","kind":"transform","position":{"x":260,"y":0},"config":{"value":"1"}}],
		"edges":[{"from":"c","to":"ok","when":"output.status == 200"},{"from":"c","to":"bad","port":"error"},
		{"from":"c","to":"near","port":"error","when":"true"}]}`
	id := createGraphIn(t, app, "Labels", doc)
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.fitView()
	got := evalJS[map[string]any](b, `(() => {
		const box = (el) => el.getBoundingClientRect();
		const hit = (p, q) => p.right > q.left && p.left < q.right && p.bottom > q.top && p.top < q.bottom;
		const names = [...document.querySelectorAll('[data-testid="node-c"] .port-label')];
		const labels = [...document.querySelectorAll("#edge-labels-layer .edge-label")];
		const bad = [];
		for (const l of labels) for (const n of names) {
			if (hit(box(l.querySelector("rect")), box(n))) bad.push(l.querySelector("text").textContent + " covers " + n.textContent);
		}
		// Nor any other node (issue 11: a long label ran under the next one) but near, which
		// is too close to c for any label: there it is shortened to its least, "…".
		for (const l of labels) for (const n of document.querySelectorAll('#nodes-layer [data-testid^="node-"] .node-body')) {
			const text = l.querySelector("text").textContent;
			if (hit(box(l.querySelector("rect")), box(n)) && !(text === "…" && n.closest('[data-testid="node-near"]'))) bad.push(text + " covers " + n.closest("[data-testid]").dataset.testid);
		}
		return { names: names.map((n) => n.textContent), labels: labels.length, bad };
	})()`)
	b.screenshot("editor-labels")
	if fmt.Sprint(got["names"]) != "[out error]" || got["labels"] != float64(3) {
		t.Fatalf("want the exits named out and error and three edge labels, got %v", got)
	}
	if bad := got["bad"].([]any); len(bad) > 0 {
		b.screenshot("editor-label-overlap")
		t.Fatalf("edge labels cover the exits' names or nodes: %v", bad)
	}
}

// TestBrowserEditorSidePanel (issue 11, item 9): problem badges leave the exits free, a
// transform's exits are named, and with many problems the list scrolls within a bounded
// height while the form keeps its room.
func TestBrowserEditorSidePanel(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Problems","nodes":[
		{"id":"t1","kind":"transform","position":{"x":0,"y":0}},
		{"id":"t2","kind":"transform","position":{"x":0,"y":120}},
		{"id":"t3","kind":"transform","position":{"x":0,"y":240}},
		{"id":"t4","kind":"transform","position":{"x":0,"y":360}},
		{"id":"h","kind":"http","position":{"x":300,"y":0},"config":{"url":"ftp://x"}},
		{"id":"w","kind":"wait","position":{"x":300,"y":120},"config":{"duration":"soon"}}],"edges":[]}`
	id := createGraphIn(t, app, "Problems", doc)
	b := newBrowser(t, app)
	b.viewport(1280, 720)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.waitJS("six problems", `document.querySelectorAll('[data-testid="problem"]').length >= 6`)

	overlap := evalJS[bool](b, `(() => { const r = (el) => el.getBoundingClientRect();
		const badge = r(document.querySelector('[data-testid="node-t1"] .node-badge'));
		return [...document.querySelectorAll('[data-testid="node-t1"] .port-dot')].some((d) => { const p = r(d);
			return p.left < badge.right && badge.left < p.right && p.top < badge.bottom && badge.top < p.bottom; }); })()`)
	if overlap {
		t.Error("the problem badge covers an exit")
	}
	labels := evalJS[[]string](b, `[...document.querySelectorAll('[data-testid="node-t1"] .port .port-label')].map((l) => l.textContent)`)
	if len(labels) != 2 || labels[0] != "out" || labels[1] != "error" {
		t.Errorf("transform exits are labelled %q, want out and error", labels)
	}

	b.selectNode("h")
	sizes := evalJS[map[string]float64](b, `(() => { const h = (s) => document.querySelector(s).getBoundingClientRect().height;
		const list = document.getElementById("problems"); return { form: h(".panel-scroll"), list: h("#problems"), panel: h("#panel"),
		scrolls: list.scrollHeight > list.clientHeight ? 1 : 0 }; })()`)
	if sizes["list"] > 16*16+1 {
		t.Errorf("the problems list is %.0f px tall, want at most 16rem", sizes["list"])
	}
	if sizes["form"] < sizes["panel"]/2 {
		t.Errorf("the form has %.0f of the panel's %.0f px", sizes["form"], sizes["panel"])
	}
	// The first label of the form is whole and visible.
	if !evalJS[bool](b, `(() => { const s = document.querySelector(".panel-scroll").getBoundingClientRect();
		const l = document.querySelector('[data-testid="node-form"] label').getBoundingClientRect();
		return l.top >= s.top && l.bottom <= s.bottom; })()`) {
		t.Error("the form's first label is cut")
	}
	b.screenshot("editor-many-problems")
	// The list folds away and comes back.
	b.click("problems-toggle")
	b.waitJS("folded", `document.getElementById("problems-body").hidden`)
	b.click("problem-count")
	b.waitJS("unfolded", `!document.getElementById("problems-body").hidden`)
}

// TestBrowserEditorNarrow (issue 11, item 10): at 800 px the canvas has the width; the panel
// opens over it for a selection, is usable, and folds away; below 760 px too.
func TestBrowserEditorNarrow(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	refund, err := os.ReadFile("../designer/testdata/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	id := createGraphIn(t, app, "Refund request", string(refund))
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	for _, width := range []int64{800, 700} {
		b.viewport(width, 800)
		b.openEditor(id)
		canvasW := evalJS[float64](b, `document.getElementById("canvas").getBoundingClientRect().width`)
		if canvasW < float64(width)-80 {
			t.Fatalf("at %d px the canvas is %.0f px wide", width, canvasW)
		}
		if evalJS[bool](b, `getComputedStyle(document.getElementById("panel")).display !== "none"`) {
			t.Fatalf("at %d px the panel covers the canvas with nothing selected", width)
		}
		b.selectNode("classify")
		box := evalJS[map[string]float64](b, `(() => { const r = document.querySelector('[data-testid="input-config.prompt"]').getBoundingClientRect();
			return { left: r.left, right: r.right, width: r.width }; })()`)
		if box["width"] < 250 || box["left"] < 0 || box["right"] > float64(width) {
			t.Fatalf("at %d px the prompt field is at %v", width, box)
		}
		b.typeInto("input-label", "Classify it")
		b.waitJS("label on the canvas", `document.querySelector('[data-testid="node-classify"] .node-label').textContent === "Classify it"`)
		b.screenshot(fmt.Sprintf("editor-narrow-%d", width))
		b.click("panel-close")
		b.waitJS("panel folded", `getComputedStyle(document.getElementById("panel")).display === "none"`)
		b.click("toggle-panel")
		b.waitJS("panel open", `getComputedStyle(document.getElementById("panel")).display !== "none"`)
		b.waitSaved()
	}
	// Wide again: the palette folds into a rail and the canvas grows by as much.
	b.viewport(1440, 900)
	b.openEditor(id)
	before := evalJS[float64](b, `document.getElementById("canvas").getBoundingClientRect().width`)
	b.click("toggle-palette")
	b.waitJS("rail", `document.getElementById("editor").dataset.palette === "closed"`)
	after := evalJS[float64](b, `document.getElementById("canvas").getBoundingClientRect().width`)
	if after < before+100 {
		t.Fatalf("folding the palette took the canvas from %.0f to %.0f px", before, after)
	}
	b.click("toggle-palette")
	b.waitJS("palette back", `document.getElementById("editor").dataset.palette === "open"`)
}

// narrowOverflow lists what sticks out of the window sideways at the current width: the page
// scrolling sideways, and each visible element of the panel whose box passes the panel's
// right edge or the window's.
const narrowOverflow = `(() => {
	const out = [];
	const W = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > W + 1) out.push("the page is " + document.documentElement.scrollWidth + " px wide");
	const panel = document.getElementById("panel");
	if (getComputedStyle(panel).display === "none") return out;
	const pr = panel.getBoundingClientRect();
	if (pr.left < -1 || pr.right > W + 1) out.push("the panel spans " + Math.round(pr.left) + " to " + Math.round(pr.right));
	for (const el of panel.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0 || el.closest("[hidden], details:not([open]) > :not(summary)")) continue;
		if (r.right > Math.min(pr.right, W) + 1 || r.left < Math.max(pr.left, 0) - 1) {
			out.push((el.dataset.testid || el.id || el.tagName.toLowerCase() + "." + el.className) + " at " + Math.round(r.left) + "-" + Math.round(r.right));
		}
	}
	for (const el of panel.querySelectorAll(".panel-scroll, .panel-scroll *")) {
		if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible" && !el.matches("textarea, input, select, pre")) out.push((el.dataset.testid || el.className) + " scrolls sideways");
	}
	return out.slice(0, 12);
})()`

// uncoveredNode reports whether node id is on the canvas outside the panel lying over it.
func uncoveredNode(b *browser, id string) bool {
	b.t.Helper()
	return evalJS[bool](b, `(() => { const n = document.querySelector('[data-testid="node-`+id+`"] .node-body').getBoundingClientRect();
		const c = document.getElementById("canvas").getBoundingClientRect();
		const p = document.getElementById("panel").getBoundingClientRect();
		const inCanvas = n.left >= c.left && n.right <= c.right && n.top >= c.top && n.bottom <= c.bottom;
		const under = n.left < p.right && p.left < n.right && n.top < p.bottom && p.top < n.bottom;
		return inCanvas && !under; })()`)
}

// TestBrowserEditorLayoutNarrowPanels (issues 12 and 17): at 800 px (the panel a drawer over the
// canvas) and at 700 px (a sheet over its lower part) nothing sticks out sideways; the graph's
// settings, a map's body and an agent's tools picker are whole and usable: text typed into each
// is saved; the step being edited is moved out from under the panel; and Tab goes from the
// panel's close button into its form.
func TestBrowserEditorLayoutNarrowPanels(t *testing.T) {
	requireChromium(t)
	app := newAgentEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	ana := app.api("ada", store.RoleAnalyst)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	ana.publish(lookup, "v1")
	doc := `{"format":"trellis.graph/v1","name":"Support","nodes":[
		{"id":"agent","kind":"agent","position":{"x":0,"y":0},"config":{"prompt":"Help with {{ input.q }}","tools":[
			{"name":"lookup","description":"Looks an order up","graph":"` + lookup + `","version":"latest"},
			{"name":"refund","description":"Refunds","parameters":{"type":"object","required":["order"],"properties":{"order":{"type":"string","description":"The order id"},"amount":{"type":"number"}}},
			 "http":{"method":"POST","url":"https://shop.example/refunds","headers":{"Authorization":"Bearer {{ secrets.SHOP }}"},"body":{"order":"{{ args.order }}"}},
			 "approval":{"assignee":"group:finance","due":"24h"}}]}},
		{"id":"each","kind":"map","position":{"x":360,"y":420},"config":{"items":"[1]","node":{"kind":"llm","config":{"prompt":"Sort {{ item }}"}}}}],"edges":[]}`
	id := createGraphIn(t, app, "Support", doc)
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	noOverflow := func(width int64, what string) {
		t.Helper()
		if bad := evalJS[[]string](b, narrowOverflow); len(bad) > 0 {
			t.Errorf("at %d px, %s: %v", width, what, bad)
		}
	}
	for _, width := range []int64{800, 700} {
		b.viewport(width, 800)
		b.openEditor(id)
		noOverflow(width, "nothing selected")

		// The graph's settings open from the toolbar.
		b.click("toggle-panel")
		b.waitVisible("graph-description")
		noOverflow(width, "the graph's settings")
		desc := fmt.Sprintf("Answers support questions (%d)", width)
		b.typeInto("graph-description", desc)
		b.waitSaved()
		g, err := app.DB.GetGraph(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var stored struct{ Description string }
		if err := json.Unmarshal(g.Draft, &stored); err != nil || stored.Description != desc {
			t.Fatalf("at %d px the stored description is %q (%v)", width, stored.Description, err)
		}
		b.do("focus the close button", chromedp.Focus(testID("panel-close")))
		b.keys(kb.Tab)
		if !evalJS[bool](b, `document.getElementById("panel-body").contains(document.activeElement)`) {
			t.Errorf("at %d px Tab from the panel's close button goes to %q", width, b.activeTestID())
		}
		b.click("panel-close")

		// An agent's tools picker: every card whole, and an edit saved.
		b.selectNode("agent")
		b.waitVisible("agent-tool-1")
		b.do("scroll to the web request tool", chromedp.ScrollIntoView(testID("input-config.tools.1.description")))
		noOverflow(width, "the agent's tools")
		if !uncoveredNode(b, "agent") {
			t.Errorf("at %d px the agent being edited is under the panel", width)
		}
		b.typeInto("input-config.tools.1.description", "Refunds an order")
		b.waitSaved()
		if tools := draftTools(t, app, id, "agent"); len(tools) != 2 || tools[1]["description"] != "Refunds an order" {
			t.Fatalf("at %d px the stored tools are %v", width, tools)
		}
		b.screenshot(fmt.Sprintf("editor-narrow-tools-%d", width))
		b.typeInto("input-config.tools.1.description", "Refunds")
		b.waitSaved()

		// A map's body, chosen by keyboard from the list of steps.
		b.do("select the map", chromedp.Evaluate[chromedp.Void](`window.trellisEditor.selectNodes(["each"])`))
		b.waitJS("map form", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "each"`)
		b.waitJS("the map moved into view", `(() => { const n = document.querySelector('[data-testid="node-each"] .node-body').getBoundingClientRect();
			const p = document.getElementById("panel").getBoundingClientRect(); return !(n.left < p.right && p.left < n.right && n.top < p.bottom && p.top < n.bottom); })()`)
		if !uncoveredNode(b, "each") {
			t.Errorf("at %d px the map being edited is under the panel", width)
		}
		b.do("scroll to the body", chromedp.ScrollIntoView(testID("input-config.node.config.prompt")))
		noOverflow(width, "the map's body")
		b.typeInto("input-config.node.config.prompt", "Sort {{ item }} now")
		b.waitSaved()
		cfg, _ := draftNode(t, app, id, "each")["config"].(map[string]any)
		if body, _ := cfg["node"].(map[string]any); fmt.Sprint(body["config"]) != "map[prompt:Sort {{ item }} now]" {
			t.Fatalf("at %d px the stored body is %v", width, cfg["node"])
		}
		b.screenshot(fmt.Sprintf("editor-narrow-map-%d", width))
	}
}
