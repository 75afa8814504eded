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

	"trellis/designer"
	"trellis/store"
)

// graphImportLimit bounds the import form: a 2 MiB file and the multipart around it.
const graphImportLimit = maxGraphBytes + 64<<10

// graphImport creates a graph from an uploaded JSON file. A document with problems is
// still imported (the overview lists them); a file that is not a graph document at all (not
// a JSON object, or without the trellis.graph/v1 format) is refused with the reason.
func (s *Server) graphImport(c echo.Context) error {
	ctx := c.Request().Context()
	name := strings.TrimSpace(c.FormValue("name"))
	id := strings.TrimSpace(c.FormValue("id"))
	askID, idFault := id != "", false
	refuse := func(status int, msg string) error {
		p, err := s.graphListProps(c)
		if err != nil {
			return err
		}
		p.ImportName, p.ImportID, p.ImportAskID = name, id, askID
		if idFault {
			// The file was fine; only the id is missing or taken, and the file must be chosen again.
			p.ImportIDError = msg
			p.ImportError = "Choose the file again, with an id for the graph."
		} else {
			p.ImportError = msg
		}
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
	if cd.Graph.Format != designer.Format {
		return refuse(http.StatusUnprocessableEntity, notAGraphFormat(cd.Graph.Format))
	}
	if name == "" {
		name = strings.TrimSpace(cd.Graph.Name)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(fh.Filename), filepath.Ext(fh.Filename))
	}
	askID = askID || store.Slug(name) == ""
	g, err := s.deps.Graphs.CreateGraphWithID(ctx, id, name, doc, graphActor(c))
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) {
		idFault = graphIDAtFault(err, name, id)
		return refuse(http.StatusUnprocessableEntity, sentence(err.Error())+".")
	}
	if err != nil {
		return err
	}
	s.log.Info("graph imported", slog.String("graph", g.ID), slog.Int("problems", len(cd.Problems)), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+g.ID+"?imported=1&show=draft")
}

// notAGraphFormat explains why a JSON object without the graph format is not imported.
func notAGraphFormat(format string) string {
	if format == "" {
		return fmt.Sprintf("This file is not a Trellis graph: it has no \"format\": %q. Export a graph from Trellis to get a file that imports.", designer.Format)
	}
	return fmt.Sprintf("This file is not a Trellis graph this server reads: its format is %q, not %q.", format, designer.Format)
}
