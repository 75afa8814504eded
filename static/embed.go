// Package static holds the browser assets (CSS, scripts, vendored libraries) embedded into the
// binary, and names them by a content hash so they can be cached for a long time.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"sort"
	"sync"
)

// files holds every served asset. Add a directory here when you create one.
//
//go:embed css img js vendor
var files embed.FS

// FS is the tree of served assets, rooted at this directory (paths like "css/app.css").
var FS fs.FS = files

var version = sync.OnceValue(func() string { return hashFS(files) })

// Version is a short hash of the content of every asset. It changes whenever any file changes,
// so URLs that contain it can be cached forever.
func Version() string { return version() }

// Prefix is the URL path under which the current assets are served, without a trailing slash.
func Prefix() string { return "/static/" + Version() }

// URL returns the cache-busting URL of the asset at name, e.g. URL("css/app.css").
func URL(name string) string { return path.Join(Prefix(), name) }

// hashFS hashes the names and contents of all regular files in a stable order.
func hashFS(fsys fs.FS) string {
	var names []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			continue
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
