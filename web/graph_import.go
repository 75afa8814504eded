package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// graphImportLimit bounds the import form: a 2 MiB file and the multipart around it.
const graphImportLimit = maxGraphBytes + 64<<10

// graphImport creates a graph from an uploaded JSON file. A document with problems is
// still imported (the overview lists them); only a file that is not a graph document at all
// is refused.
func (s *Server) graphImport(c echo.Context) error {
	ctx := c.Request().Context()
	name := strings.TrimSpace(c.FormValue("name"))
	refuse := func(status int, msg string) error {
		p, err := s.graphListProps(c)
		if err != nil {
			return err
		}
		p.ImportName, p.ImportError = name, msg
		return s.renderGraphList(c, status, p)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return refuse(http.StatusBadRequest, "Choose a JSON file to import.")
	}
	if fh.Size > maxGraphBytes {
		return refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is %d bytes; a graph document may be at most 2 MiB.", fh.Size))
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open uploaded file: %w", err)
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, maxGraphBytes+1))
	if err != nil {
		return fmt.Errorf("read uploaded file: %w", err)
	}
	cd, err := s.checkGraphDoc(ctx, doc, "")
	if err != nil {
		ae := AsError(err)
		return refuse(ae.Status, ae.Message)
	}
	if name == "" {
		name = strings.TrimSpace(cd.Graph.Name)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(fh.Filename), filepath.Ext(fh.Filename))
	}
	g, err := s.deps.Graphs.CreateGraph(ctx, name, doc, graphActor(c))
	if errors.Is(err, store.ErrInvalid) {
		return refuse(http.StatusUnprocessableEntity, sentence(err.Error())+".")
	}
	if err != nil {
		return err
	}
	s.log.Info("graph imported", slog.String("graph", g.ID), slog.Int("problems", len(cd.Problems)), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+g.ID+"?imported=1&show=draft")
}
