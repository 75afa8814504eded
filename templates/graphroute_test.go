package templates

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"trellis/designer"
)

// checkRoute fails unless the route starts at a going right, ends at b coming from the left,
// runs only in horizontal and vertical segments, and crosses no box (the first segment may
// leave from, the last enter to).
func checkRoute(t *testing.T, name string, pts []RoutePoint, a, b RoutePoint, from, to RouteBox, boxes []RouteBox) {
	t.Helper()
	n := len(pts)
	if n < 2 || pts[0] != a || pts[n-1] != b {
		t.Fatalf("%s: route %v does not run from %v to %v", name, pts, a, b)
	}
	if pts[1].Y != a.Y || pts[1].X <= a.X {
		t.Errorf("%s: route %v does not leave its exit to the right", name, pts)
	}
	if pts[n-2].Y != b.Y || pts[n-2].X >= b.X {
		t.Errorf("%s: route %v does not enter its target from the left", name, pts)
	}
	for i := 0; i+1 < n; i++ {
		p, q := pts[i], pts[i+1]
		if p.X != q.X && p.Y != q.Y {
			t.Errorf("%s: segment %v–%v is neither horizontal nor vertical", name, p, q)
		}
		for _, bx := range boxes {
			if (i == 0 && bx == from) || (i == n-2 && bx == to) {
				continue
			}
			if segCrosses(p, q, bx) {
				t.Errorf("%s: segment %v–%v crosses box %v", name, p, q, bx)
			}
		}
	}
}

func TestRouteEdge(t *testing.T) {
	const w, h = 208.0, 64.0
	box := func(x, y float64) RouteBox { return RouteBox{X: x, Y: y, W: w, H: h} }
	exit := func(b RouteBox, y float64) RoutePoint { return RoutePoint{b.X + b.W + 3.5, b.Y + y} }
	entry := func(b RouteBox) RoutePoint { return RoutePoint{b.X, b.Y + b.H/2} }

	tests := []struct {
		name       string
		boxes      []RouteBox
		from, to   int
		portY      float64
		maxCorners int
	}{
		{name: "straight ahead", boxes: []RouteBox{box(0, 0), box(300, 0)}, from: 0, to: 1, portY: h / 2, maxCorners: 0},
		{name: "down a row", boxes: []RouteBox{box(0, 0), box(300, 120)}, from: 0, to: 1, portY: h / 2, maxCorners: 2},
		{name: "round a box in the way", boxes: []RouteBox{box(0, 0), box(300, 0), box(600, 0)}, from: 0, to: 2, portY: h / 2, maxCorners: 4},
		{name: "back to the left", boxes: []RouteBox{box(0, 0), box(300, 0)}, from: 1, to: 0, portY: h / 2, maxCorners: 4},
		{name: "error exit back and down", boxes: []RouteBox{box(0, 200), box(300, 0), box(300, 100)}, from: 1, to: 0, portY: 44, maxCorners: 4},
		{name: "below and overlapping", boxes: []RouteBox{box(0, 0), box(100, 150)}, from: 0, to: 1, portY: h / 2, maxCorners: 4},
		{name: "back past a box below", boxes: []RouteBox{box(0, 0), box(600, 0), box(300, 40)}, from: 1, to: 0, portY: h / 2, maxCorners: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.boxes[tt.from], tt.boxes[tt.to]
			a, b := exit(from, tt.portY), entry(to)
			pts := RouteEdge(a, b, from, to, tt.boxes)
			checkRoute(t, tt.name, pts, a, b, from, to, tt.boxes)
			if corners := len(pts) - 2; corners > tt.maxCorners {
				t.Errorf("route %v has %d corners, want at most %d", pts, corners, tt.maxCorners)
			}
			// The route stays near the boxes it joins: it never swings far off the drawing.
			x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, bx := range tt.boxes {
				x0, y0 = math.Min(x0, bx.X), math.Min(y0, bx.Y)
				x1, y1 = math.Max(x1, bx.X+bx.W), math.Max(y1, bx.Y+bx.H)
			}
			m := RouteStub + routeGap + 4
			for _, p := range pts {
				if p.X < x0-m || p.X > x1+m || p.Y < y0-m || p.Y > y1+m {
					t.Errorf("point %v of %v is far outside the boxes %v–%v", p, pts, []float64{x0, y0}, []float64{x1, y1})
				}
			}
			d := RoutePath(pts)
			if !strings.HasPrefix(d, "M"+svgNum(a.X)+" "+svgNum(a.Y)) || !strings.HasSuffix(d, "L"+svgNum(b.X)+" "+svgNum(b.Y)) {
				t.Errorf("path %q does not run from %v to %v", d, a, b)
			}
		})
	}
}

func TestRouteLabelPoint(t *testing.T) {
	pts := []RoutePoint{{0, 0}, {20, 0}, {20, 100}, {-300, 100}, {-300, 50}, {-280, 50}}
	if got := RouteLabelPoint(pts, 60, RouteLabelClear, nil); got != (RouteLabelSpot{-140, 100, math.Inf(1)}) {
		t.Errorf("label at %v, want the middle of the long run, with nothing in its way", got)
	}
	// Issue 11: boxes beside the run bound the label, which moves clear of them when it fits
	// between them, and answers the room between them when it does not.
	boxes := []RouteBox{{-500, 80, 100, 40}, {-100, 95, 50, 40}, {-300, 200, 300, 40}}
	if got := RouteLabelPoint(pts, 160, RouteLabelClear, boxes); got != (RouteLabelSpot{-100 - routeLabelMargin - 80, 100, 300 - 2*routeLabelMargin}) {
		t.Errorf("label at %v, want it moved left of the box on its run", got)
	}
	if got := RouteLabelPoint(pts, 400, RouteLabelClear, boxes); got.Room != 300-2*routeLabelMargin {
		t.Errorf("a label too wide: room %v, want the gap between the boxes", got.Room)
	}
	// Issue 11: a label near the exit's height starts RouteLabelClear past the exit, where the
	// exit's name is out of the way, even on a run too short for it or one that starts
	// beside the exit.
	for _, tc := range []struct {
		name  string
		pts   []RoutePoint
		width float64
	}{
		{"straight and short", []RoutePoint{{0, 0}, {90, 0}}, 80},
		{"one step down, first run longest", []RoutePoint{{0, 0}, {60, 0}, {60, 10}, {100, 10}}, 60},
		{"one step down, last run longest", []RoutePoint{{0, 0}, {40, 0}, {40, 20}, {100, 20}}, 60},
		{"straight and long", []RoutePoint{{0, 0}, {400, 0}}, 100},
	} {
		got := RouteLabelPoint(tc.pts, tc.width, RouteLabelClear, nil)
		if left := got.X - tc.width/2; left < tc.pts[0].X+RouteLabelClear-1e-9 {
			t.Errorf("%s: label at %v starts at x %v, within %v of the exit", tc.name, got, left, RouteLabelClear)
		}
	}
	// Far from the exit's height a run keeps its middle.
	far := []RoutePoint{{0, 0}, {16, 0}, {16, 200}, {-200, 200}, {-200, 100}, {-184, 100}}
	if got := RouteLabelPoint(far, 80, RouteLabelClear, nil); got.X != -92 || got.Y != 200 {
		t.Errorf("label at %v, want the middle of the run below", got)
	}
}

// TestGraphSVGEdgeLabelsClearExits (issue 11): the label of an edge leaving a node's error
// exit, and a condition edge beside it, start past the exit's stub and cover no node, even
// when the next node is close.
func TestGraphSVGEdgeLabelsClearExits(t *testing.T) {
	pos := func(x, y float64) *designer.Position { return &designer.Position{X: x, Y: y} }
	g := &designer.Graph{
		Nodes: []designer.Node{
			{ID: "c", Kind: designer.KindHTTP, Position: pos(0, 0), OnError: "continue"},
			{ID: "ok", Kind: designer.KindTransform, Position: pos(300, -40)},
			{ID: "bad", Kind: designer.KindTransform, Position: pos(300, 60)},
			{ID: "near", Kind: designer.KindTransform, Position: pos(260, 0)},
		},
		Edges: []designer.Edge{
			{From: "c", To: "ok", When: "output.status == 200"},
			{From: "c", To: "bad", Port: "error"},
			{From: "c", To: "near", Port: "error", When: "true"},
		},
	}
	var b strings.Builder
	if err := GraphSVG(GraphSVGProps{Graph: g, ID: "l"}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	labels := regexp.MustCompile(`<text class="gedge-label" x="([-0-9.]+)" y="([-0-9.]+)" text-anchor="middle">([^<]+)</text>`).FindAllStringSubmatch(b.String(), -1)
	if len(labels) != len(g.Edges) {
		t.Fatalf("%d edge labels for %d edges:\n%s", len(labels), len(g.Edges), b.String())
	}
	num := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	src := RouteBox{X: 0, Y: 0, W: svgNodeW, H: svgNodeH}
	for _, m := range labels {
		text := strings.ReplaceAll(m[3], "&gt;", ">")
		x, y, w := num(m[1]), num(m[2]), svgLabelWidth(strings.ReplaceAll(text, "&#34;", `"`))
		x0, x1, y0, y1 := x-w/2, x+w/2, y-9, y+3
		// Beside the exits: these drawings name no exits, but a label starts past the stub.
		stubs := RouteBox{X: src.X + src.W, Y: src.Y, W: svgPortR + RouteStub, H: src.H}
		// Nor any node: the label of c → near, too long for the gap, is shortened to it.
		boxes := []RouteBox{stubs}
		for _, n := range g.Nodes {
			boxes = append(boxes, RouteBox{X: n.Position.X, Y: n.Position.Y, W: svgNodeW, H: svgNodeH})
		}
		for _, bx := range boxes {
			if x1 > bx.X && x0 < bx.X+bx.W && y1 > bx.Y && y0 < bx.Y+bx.H {
				t.Errorf("label %q at %v,%v (box x %v–%v) overlaps %v", text, x, y, x0, x1, bx)
			}
		}
	}
}

var pathNums = regexp.MustCompile(`-?[0-9.]+`)

// TestGraphSVGRoutes (issue 11, item 8): the server's drawings route edges as the editor
// does: a cycle's back edge and an error edge to a node on the left go round the boxes, end
// exactly at their target's left side, and stay inside the drawing.
func TestGraphSVGRoutes(t *testing.T) {
	pos := func(x, y float64) *designer.Position { return &designer.Position{X: x, Y: y} }
	g := &designer.Graph{
		Nodes: []designer.Node{
			{ID: "a", Kind: designer.KindTransform, Position: pos(0, 0)},
			{ID: "b", Kind: designer.KindTransform, Position: pos(320, 0)},
			{ID: "c", Kind: designer.KindTransform, Position: pos(640, 0)},
			{ID: "d", Kind: designer.KindWait, Position: pos(0, 160)},
		},
		Edges: []designer.Edge{
			{From: "a", To: "b"}, {From: "b", To: "a"}, // a cycle
			{From: "a", To: "c"},                // past b
			{From: "c", To: "d", Port: "error"}, // back and down
		},
	}
	var b strings.Builder
	if err := GraphSVG(GraphSVGProps{Graph: g, ID: "r"}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	vb := regexp.MustCompile(`viewBox="([-0-9.]+) ([-0-9.]+) ([-0-9.]+) ([-0-9.]+)"`).FindStringSubmatch(svg)
	paths := regexp.MustCompile(`<path class="gedge-line" d="([^"]+)"`).FindAllStringSubmatch(svg, -1)
	if vb == nil || len(paths) != len(g.Edges) {
		t.Fatalf("viewBox %v, %d edge paths\n%s", vb, len(paths), svg)
	}
	num := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	x0, y0 := num(vb[1]), num(vb[2])
	x1, y1 := x0+num(vb[3]), y0+num(vb[4])
	boxes := map[string]RouteBox{}
	for _, n := range g.Nodes {
		boxes[n.ID] = RouteBox{X: n.Position.X, Y: n.Position.Y, W: svgNodeW, H: svgNodeH}
	}
	for i, e := range g.Edges {
		d := paths[i][1]
		if strings.Contains(d, "C") {
			t.Errorf("edge %s→%s is a free curve: %s", e.From, e.To, d)
		}
		ns := pathNums.FindAllString(d, -1)
		var pts []RoutePoint
		for k := 0; k+1 < len(ns); k += 2 {
			pts = append(pts, RoutePoint{num(ns[k]), num(ns[k+1])})
		}
		to := boxes[e.To]
		if last := pts[len(pts)-1]; last != (RoutePoint{to.X, to.Y + to.H/2}) {
			t.Errorf("edge %s→%s ends at %v, not at its target's side", e.From, e.To, last)
		}
		// Sample along the path (its corners' curves stay within their control points).
		var along []RoutePoint
		for k := 0; k+1 < len(pts); k++ {
			a, c := pts[k], pts[k+1]
			steps := int(math.Max(math.Abs(c.X-a.X), math.Abs(c.Y-a.Y))/4) + 1
			for j := 0; j <= steps; j++ {
				f := float64(j) / float64(steps)
				along = append(along, RoutePoint{a.X + (c.X-a.X)*f, a.Y + (c.Y-a.Y)*f})
			}
		}
		for _, p := range along {
			if p.X < x0 || p.X > x1 || p.Y < y0 || p.Y > y1 {
				t.Errorf("edge %s→%s passes %v, outside the drawing", e.From, e.To, p)
			}
			for id, bx := range boxes {
				if id != e.From && id != e.To && p.X > bx.X && p.X < bx.X+bx.W && p.Y > bx.Y && p.Y < bx.Y+bx.H {
					t.Errorf("edge %s→%s passes through %s at %v", e.From, e.To, id, p)
				}
			}
		}
	}
}
