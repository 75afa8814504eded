package web

import (
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/static"
)

// staticServe serves the embedded assets under /static/<version>/. With the current version
// the answer may be cached for a year, since a change of content changes the URL; an old
// version still gets the current file, but uncached.
func (s *Server) staticServe(c echo.Context) error {
	name := c.Param("*")
	if name == "" || strings.Contains(name, "..") || strings.HasSuffix(name, "/") {
		return echo.ErrNotFound
	}
	name = path.Clean(name)
	f, err := static.FS.Open(name)
	if err != nil {
		return echo.ErrNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return echo.ErrNotFound
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	if c.Param("version") == static.Version() {
		h.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		h.Set(echo.HeaderCacheControl, "no-cache")
	}
	http.ServeContent(c.Response(), c.Request(), name, time.Time{}, rs)
	return nil
}
