package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/templates"
)

func renderSVG(tb testing.TB, p templates.GraphSVGProps) string {
	tb.Helper()
	var b strings.Builder
	if err := templates.GraphSVG(p).Render(context.Background(), &b); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

var translateRE = regexp.MustCompile(`data-testid="node-([a-z0-9_]+)" transform="translate\(([-0-9.]+) ([-0-9.]+)\)"`)

// nodeXY maps each drawn node to its place.
func nodeXY(t *testing.T, svg string) map[string][2]float64 {
	t.Helper()
	out := map[string][2]float64{}
	for _, m := range translateRE.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[2], 64)
		y, _ := strconv.ParseFloat(m[3], 64)
		out[m[1]] = [2]float64{x, y}
	}
	return out
}

func TestGraphSVG(t *testing.T) {
	long := "A label far too long to fit into one box on the drawing"
	g := &designer.Graph{
		Nodes: []designer.Node{
			{ID: "start", Kind: designer.KindTransform, Label: long},
			{ID: "ask", Kind: designer.KindApproval, Config: []byte(`{"outcomes": ["yes", "no", "later"]}`)},
			{ID: "done", Kind: "teleport"},
			{ID: "side", Kind: designer.KindWait},
		},
		Edges: []designer.Edge{
			{From: "start", To: "ask"},
			{From: "ask", To: "done", Port: "no", When: "input.amount > 100 && input.customer != 'vip'"},
			{From: "ask", To: "missing"},
		},
	}
	svg := renderSVG(t, templates.GraphSVGProps{Graph: g, ID: "t", Title: "Test graph",
		NodeClass: map[string]string{"ask": "status-running"}, EdgeClass: map[int]string{1: "edge-active"}})

	wantContains(t, svg, `role="img"`, `aria-labelledby="t-title t-desc"`, `<title id="t-title">Test graph</title>`,
		"4 steps and 3 connections", `data-node-id="ask"`, `data-testid="node-ask"`, `class="gnode gnode-kind-approval status-running"`,
		`class="gedge edge-active"`, "no · if input.amount &gt; 100 &amp;&amp;…", `class="gnode-glyph"`, "unknown kind teleport",
		`href="#t-icon-transform"`, "<title>"+long+" (start, Transform)</title>", `marker-end="url(#t-arrow)"`)
	// The label is clipped to the box, the full text is in the tooltip.
	if !strings.Contains(svg, `<text class="gnode-label" x="46" y="29">A label far too lo…</text>`) {
		t.Errorf("label not clipped:\n%s", svg)
	}
	// Three outcome ports, and no curve to the missing node.
	if n := strings.Count(svg, `<circle class="gnode-port"`); n != 3+2+0+1 {
		t.Errorf("%d ports drawn", n)
	}
	if n := strings.Count(svg, `<path class="gedge-line"`); n != 2 {
		t.Errorf("%d edges drawn, want 2", n)
	}

	// Without positions, nodes go into columns by depth, left to right.
	xy := nodeXY(t, svg)
	if !(xy["start"][0] < xy["ask"][0] && xy["ask"][0] < xy["done"][0]) || xy["side"][0] != xy["start"][0] || xy["side"][1] <= xy["start"][1] {
		t.Errorf("auto layout = %v", xy)
	}
}

func TestGraphSVGPositionsAndFit(t *testing.T) {
	g := &designer.Graph{
		Nodes: []designer.Node{
			{ID: "a", Kind: designer.KindLLM, Position: &designer.Position{X: 100, Y: 50}},
			{ID: "b", Kind: designer.KindHTTP, Position: &designer.Position{X: 400, Y: 200}},
			{ID: "c", Kind: designer.KindSubgraph}, // no position: placed below the others
		},
		Edges: []designer.Edge{{From: "a", To: "b"}, {From: "b", To: "a"}}, // a cycle still draws
	}
	svg := renderSVG(t, templates.GraphSVGProps{Graph: g})
	xy := nodeXY(t, svg)
	if xy["a"] != [2]float64{100, 50} || xy["b"] != [2]float64{400, 200} || xy["c"][1] < 200+templates.GraphNodeHeight {
		t.Fatalf("positions = %v", xy)
	}
	m := regexp.MustCompile(`viewBox="([-0-9.]+) ([-0-9.]+) ([-0-9.]+) ([-0-9.]+)"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatal("no viewBox")
	}
	var box [4]float64
	for i := range box {
		box[i], _ = strconv.ParseFloat(m[i+1], 64)
	}
	for id, p := range xy {
		if p[0] < box[0] || p[1] < box[1] || p[0]+templates.GraphNodeWidth > box[0]+box[2] || p[1]+templates.GraphNodeHeight > box[1]+box[3] {
			t.Errorf("node %s at %v is outside the viewBox %v", id, p, box)
		}
	}
	wantContains(t, svg, "graph-svg-fit", `id="graph-svg"`)
}

// TestGraphSVGLarge: 500 nodes keep their size (the drawing scrolls) and every label fits.
func TestGraphSVGLarge(t *testing.T) {
	svg := renderSVG(t, templates.GraphSVGProps{Graph: bigGraph(500)})
	if n := strings.Count(svg, `class="gnode gnode-kind-`); n != 500 {
		t.Fatalf("%d nodes drawn", n)
	}
	if strings.Contains(svg, "graph-svg-fit") {
		t.Error("a 500-node drawing is scaled down to fit")
	}
	for _, m := range regexp.MustCompile(`<text class="gnode-label"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		if n := len([]rune(m[1])); n > 19 {
			t.Fatalf("label %q has %d characters", m[1], n)
		}
	}
}

// bigGraph is n nodes without positions: a fan of chains ten deep.
func bigGraph(n int) *designer.Graph {
	g := &designer.Graph{Format: designer.Format, Name: "big"}
	for i := range n {
		id := fmt.Sprintf("step_%d", i)
		g.Nodes = append(g.Nodes, designer.Node{ID: id, Kind: designer.KindTransform, Label: "Step number " + strconv.Itoa(i) + " with a long label"})
		if i%10 != 0 {
			g.Edges = append(g.Edges, designer.Edge{From: fmt.Sprintf("step_%d", i-1), To: id})
		}
	}
	return g
}

func BenchmarkGraphSVG500(b *testing.B) {
	g := bigGraph(500)
	for b.Loop() {
		renderSVG(b, templates.GraphSVGProps{Graph: g})
	}
}
