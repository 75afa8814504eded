package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"trellis/static"
	"trellis/templates"
)

// vendorRow matches a table row of static/vendor/README.md: | file | name | version | source |
// licence | sha256 |.
var vendorRow = regexp.MustCompile(`^\|\s*([^|\s]+)\s*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|\s*([0-9a-f]{64})\s*\|$`)

// TestVendoredChecksums checks every vendored file against the sha256 in static/vendor/README.md,
// in the embedded copy that is served, and that no vendored file is missing from the list.
func TestVendoredChecksums(t *testing.T) {
	readme, err := os.ReadFile("../static/vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for line := range strings.SplitSeq(string(readme), "\n") {
		if m := vendorRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			listed[m[1]] = m[2]
		}
	}
	if len(listed) == 0 {
		t.Fatal("static/vendor/README.md lists no files")
	}
	for name, want := range listed {
		b, err := fs.ReadFile(static.FS, path.Join("vendor", name))
		if err != nil {
			t.Errorf("%s is listed but not embedded: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, README says %s", name, got, want)
		}
	}
	entries, err := fs.ReadDir(static.FS, "vendor")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if n == "README.md" || strings.HasPrefix(n, "LICENSE") {
			continue
		}
		if _, ok := listed[n]; !ok {
			t.Errorf("vendor/%s is not listed in README.md with its checksum", n)
		}
	}
	if _, err := fs.Stat(static.FS, "vendor/LICENSE-htmx"); err != nil {
		t.Errorf("htmx licence missing: %v", err)
	}
}

// TestLayoutAssetsExist: the files the layout loads are embedded.
func TestLayoutAssetsExist(t *testing.T) {
	for _, name := range []string{"css/app.css", "js/app.js", templates.HTMXFile} {
		if _, err := fs.Stat(static.FS, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
