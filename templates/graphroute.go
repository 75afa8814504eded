package templates

import (
	"math"
	"sort"
	"strings"
)

// Edge routing, shared by the server's drawings (GraphSVG) and mirrored line for line by the
// editor's static/js/editor/route.js, so that an edge takes the same way on both.
//
// An edge leaves its exit to the right and enters its target from the left, always. Between
// them it runs in horizontal and vertical segments around the boxes of the other nodes: a
// forward edge turns once in the gap between the columns (or not at all), and an edge to a
// node on its left, or to one that is too close, goes round through a free horizontal
// channel above or below the boxes in its way.

// RoutePoint is a point of a drawing.
type RoutePoint struct{ X, Y float64 }

// RouteBox is a node's box on a drawing.
type RouteBox struct{ X, Y, W, H float64 }

const (
	// RouteStub is how far an edge runs straight out of its exit and into its entry.
	RouteStub = 16.0
	// routeGap is the clearance a route keeps from the boxes it passes.
	routeGap = 14.0
	// routePad is how close a segment may come to a box before it counts as crossing it.
	routePad = 5.0
	// RouteRadius rounds the corners of a route.
	RouteRadius = 8.0
	// RouteLabelClear is how far past its exit an edge's label may start: room for the
	// exit's name beside the dot ("error" in 10 px type, 9 px out, and a margin).
	RouteLabelClear = 40.0
	// routeLabelNear is how close to the exit's height a label (20 high) may come to the
	// names of the exits (20 apart) beside it.
	routeLabelNear = 30.0
	// routeLabelMargin is the least room a label leaves to a node beside it: the arrowhead
	// and the node's edge stay in sight.
	routeLabelMargin = 6.0
	// routeLabelHalf is half a label's height: the boxes within it of a run bound its label.
	routeLabelHalf = 10.0
	// routeTries is how many routes of each shape are tried before the plain one is taken.
	routeTries = 24
)

type routeSeg struct {
	a, b     RoutePoint
	skipFrom bool // the segment leaves the source box: it does not count as crossing it
	skipTo   bool
}

// RouteEdge returns the corners of the route from a (an exit on the right side of box from)
// to b (the entry on the left side of box to), first and last included. boxes are every box
// of the drawing, from and to among them.
func RouteEdge(a, b RoutePoint, from, to RouteBox, boxes []RouteBox) []RoutePoint {
	// Every route stays between the two ends, give or take a stub and a gap: only the boxes
	// there can be in its way.
	lo := math.Min(a.X, b.X) - RouteStub - routeGap
	hi := math.Max(a.X, b.X) + RouteStub + routeGap
	near := make([]RouteBox, 0, 16)
	for _, bx := range boxes {
		if bx.X <= hi && bx.X+bx.W >= lo {
			near = append(near, bx)
		}
	}
	r := router{a: a, b: b, from: from, to: to, boxes: near}
	return simplifyRoute(r.route())
}

// firstTries is the first routeTries candidates.
func firstTries(list []float64) []float64 {
	if len(list) > routeTries {
		return list[:routeTries]
	}
	return list
}

type router struct {
	a, b     RoutePoint
	from, to RouteBox
	boxes    []RouteBox
}

func (r *router) route() []RoutePoint {
	a, b := r.a, r.b
	x1, x2 := a.X+RouteStub, b.X-RouteStub
	if x2 >= x1 {
		// Forward: one vertical segment in the gap, where it crosses nothing.
		for _, xm := range firstTries(r.columns(x1, x2)) {
			pts := []RoutePoint{a, {xm, a.Y}, {xm, b.Y}, b}
			if r.free(pts) {
				return pts
			}
		}
		for _, yc := range firstTries(r.channels(x1, x2)) {
			pts := []RoutePoint{a, {x1, a.Y}, {x1, yc}, {x2, yc}, {x2, b.Y}, b}
			if r.free(pts) {
				return pts
			}
		}
		xm := (a.X + b.X) / 2
		return []RoutePoint{a, {xm, a.Y}, {xm, b.Y}, b}
	}
	// Backward or too close: out to the right, round through a channel, in from the left.
	for _, yc := range firstTries(r.channels(x2, x1)) {
		pts := []RoutePoint{a, {x1, a.Y}, {x1, yc}, {x2, yc}, {x2, b.Y}, b}
		if r.free(pts) {
			return pts
		}
	}
	yc := math.Max(r.from.Y+r.from.H, r.to.Y+r.to.H) + routeGap
	return []RoutePoint{a, {x1, a.Y}, {x1, yc}, {x2, yc}, {x2, b.Y}, b}
}

// columns are the x where a forward edge may turn: the middle of the gap first, then beside
// the boxes that stand in the gap, nearest to the middle first.
func (r *router) columns(x1, x2 float64) []float64 {
	mid := (r.a.X + r.b.X) / 2
	xs := []float64{mid}
	lo, hi := math.Min(r.a.Y, r.b.Y), math.Max(r.a.Y, r.b.Y)
	for _, bx := range r.boxes {
		if bx.X > x2 || bx.X+bx.W < x1 || bx.Y > hi+routeGap || bx.Y+bx.H < lo-routeGap {
			continue
		}
		for _, x := range []float64{bx.X - routeGap, bx.X + bx.W + routeGap} {
			if x >= x1 && x <= x2 {
				xs = append(xs, x)
			}
		}
	}
	xs = append(xs, x1, x2)
	sort.SliceStable(xs[1:], func(i, j int) bool { return math.Abs(xs[1+i]-mid) < math.Abs(xs[1+j]-mid) })
	return xs
}

// channels are the y of horizontal runs between x0 and x1 that clear the boxes there:
// above and below each box in the way, the cheapest detour first.
func (r *router) channels(x0, x1 float64) []float64 {
	var ys []float64
	if r.b.X-r.a.X >= 2*RouteStub {
		ys = append(ys, r.a.Y, r.b.Y)
	}
	for _, bx := range r.boxes {
		if bx.X > x1+routeGap || bx.X+bx.W < x0-routeGap {
			continue
		}
		ys = append(ys, bx.Y-routeGap, bx.Y+bx.H+routeGap)
	}
	cost := func(y float64) float64 { return math.Abs(y-r.a.Y) + math.Abs(y-r.b.Y) }
	sort.SliceStable(ys, func(i, j int) bool { return cost(ys[i]) < cost(ys[j]) })
	return ys
}

// free reports whether the route crosses no box; its first segment may leave the source box
// and its last enter the target box.
func (r *router) free(pts []RoutePoint) bool {
	last := len(pts) - 2
	for i := 0; i+1 < len(pts); i++ {
		s := routeSeg{a: pts[i], b: pts[i+1], skipFrom: i == 0, skipTo: i == last}
		for _, bx := range r.boxes {
			if s.skipFrom && bx == r.from || s.skipTo && bx == r.to {
				continue
			}
			if segCrosses(s.a, s.b, bx) {
				return false
			}
		}
	}
	return true
}

// segCrosses reports whether a horizontal or vertical segment comes within routePad of a box.
func segCrosses(a, b RoutePoint, bx RouteBox) bool {
	x0, x1 := math.Min(a.X, b.X), math.Max(a.X, b.X)
	y0, y1 := math.Min(a.Y, b.Y), math.Max(a.Y, b.Y)
	return x1 > bx.X-routePad && x0 < bx.X+bx.W+routePad && y1 > bx.Y-routePad && y0 < bx.Y+bx.H+routePad
}

// simplifyRoute drops repeated points and the middle of straight runs.
func simplifyRoute(pts []RoutePoint) []RoutePoint {
	out := make([]RoutePoint, 0, len(pts))
	for _, p := range pts {
		if n := len(out); n > 0 && math.Abs(out[n-1].X-p.X) < 0.5 && math.Abs(out[n-1].Y-p.Y) < 0.5 {
			continue
		}
		if n := len(out); n >= 2 {
			o, q := out[n-2], out[n-1]
			if (math.Abs(o.X-q.X) < 0.5 && math.Abs(q.X-p.X) < 0.5) || (math.Abs(o.Y-q.Y) < 0.5 && math.Abs(q.Y-p.Y) < 0.5) {
				out[n-1] = p
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// RoutePath is a route as SVG path data, its corners rounded.
func RoutePath(pts []RoutePoint) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("M" + svgNum(pts[0].X) + " " + svgNum(pts[0].Y))
	for i := 1; i < len(pts); i++ {
		p := pts[i]
		if i == len(pts)-1 {
			b.WriteString(" L" + svgNum(p.X) + " " + svgNum(p.Y))
			break
		}
		prev, next := pts[i-1], pts[i+1]
		rad := math.Min(RouteRadius, math.Min(routeLen(prev, p), routeLen(p, next))/2)
		in := routeToward(p, prev, rad)
		out := routeToward(p, next, rad)
		b.WriteString(" L" + svgNum(in.X) + " " + svgNum(in.Y))
		b.WriteString(" Q" + svgNum(p.X) + " " + svgNum(p.Y) + " " + svgNum(out.X) + " " + svgNum(out.Y))
	}
	return b.String()
}

// RouteLabelSpot is where an edge's label goes, its middle, and Room: how wide a label there
// may be without covering a node (+Inf when nothing bounds it).
type RouteLabelSpot struct {
	X, Y, Room float64
}

// RouteLabelPoint is where the label of an edge goes, for a label width wide: the middle of
// the route's longest horizontal run. A run near the exit's height counts only from clear
// past the exit, and a label on it never starts before that point: the editor names out and
// error just outside the node, above the edges that leave them, and clears RouteLabelClear
// for them; these drawings name no exits, and clear the stub. A label may reach past its
// run, but not into a box (boxes are every node's): one that fits between the boxes beside
// the run is moved clear of them, and one wider than Room is for the caller to shorten
// (issue 11: it ran under the next node).
func RouteLabelPoint(pts []RoutePoint, width, clear float64, boxes []RouteBox) RouteLabelSpot {
	var lo, hi, x, y float64
	bestLen, near := math.Inf(-1), false
	start := 0.0
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		if math.Abs(a.Y-b.Y) >= 0.5 {
			continue
		}
		l, h := math.Min(a.X, b.X), math.Max(a.X, b.X)
		m := (l + h) / 2
		n := math.Abs(a.Y-pts[0].Y) < routeLabelNear
		if n {
			start = pts[0].X + clear
			l = math.Max(l, start)
			m = math.Max((l+h)/2, start+width/2)
		}
		if h-l > bestLen {
			lo, hi, x, y, bestLen, near = l, h, m, a.Y, h-l, n
		}
	}
	if math.IsInf(bestLen, -1) {
		if len(pts) == 0 {
			return RouteLabelSpot{}
		}
		a, b := pts[0], pts[len(pts)-1]
		return RouteLabelSpot{(a.X + b.X) / 2, (a.Y + b.Y) / 2, math.Inf(1)}
	}
	// The free stretch at the label's height around the run's middle.
	left, right, ref := math.Inf(-1), math.Inf(1), (lo+hi)/2
	if near {
		left = start
	}
	for _, bx := range boxes {
		if bx.Y >= y+routeLabelHalf || bx.Y+bx.H <= y-routeLabelHalf {
			continue
		}
		if bx.X+bx.W <= ref {
			left = math.Max(left, bx.X+bx.W)
		} else if bx.X >= ref {
			right = math.Min(right, bx.X)
		}
	}
	room := math.Max(0, right-left-2*routeLabelMargin)
	if width <= room {
		x = math.Min(math.Max(x, left+routeLabelMargin+width/2), right-routeLabelMargin-width/2)
	}
	return RouteLabelSpot{x, y, room}
}

func routeLen(a, b RoutePoint) float64 { return math.Abs(a.X-b.X) + math.Abs(a.Y-b.Y) }

// routeToward is the point d from p toward q (on a horizontal or vertical segment).
func routeToward(p, q RoutePoint, d float64) RoutePoint {
	l := routeLen(p, q)
	if l == 0 {
		return p
	}
	return RoutePoint{p.X + (q.X-p.X)*d/l, p.Y + (q.Y-p.Y)*d/l}
}
