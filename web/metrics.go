package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

func newLatencyHistogram(reg prometheus.Registerer) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "trellis_http_request_duration_seconds",
		Help:    "HTTP request latency by route (the route's pattern, not the path), method and status.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	reg.MustRegister(h)
	return h
}

// observeLatency records a request under its route pattern, so that ids in paths do not
// make a series each; requests no route matched share one.
func (s *Server) observeLatency(c echo.Context, d time.Duration) {
	if s.latency == nil {
		return
	}
	route := c.Path()
	if _, ok := s.byKey[c.Request().Method+" "+route]; !ok {
		route = "unmatched"
	}
	s.latency.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Observe(d.Seconds())
}

// routeRunID is the run a request concerns, for the log line: the :id of a /runs route.
func routeRunID(c echo.Context) string {
	p := c.Path()
	if strings.HasPrefix(p, "/runs/:id") || strings.HasPrefix(p, "/api/v1/runs/:id") {
		return c.Param("id")
	}
	return ""
}
