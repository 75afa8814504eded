package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"trellis/designer"
)

// Graph is a graph with its mutable draft.
type Graph struct {
	ID             string
	Name           string
	Draft          json.RawMessage
	DraftHash      string // as given to SaveDraft; empty until the first save
	DraftRevision  int64  // starts at 1 and grows with every SaveDraft
	DraftUpdatedAt time.Time
	DraftUpdatedBy string
	LatestVersion  int // the highest published version, retired or not; 0 = none
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Version is one published, immutable version of a graph. Only Retired ever changes.
type Version struct {
	GraphID    string          `json:"-"`
	Version    int             `json:"version"`
	Note       string          `json:"note"`
	Author     string          `json:"author"`
	CreatedAt  time.Time       `json:"created_at"`
	Hash       string          `json:"hash"`
	Retired    bool            `json:"retired"`
	Definition json.RawMessage `json:"-"` // nil in ListVersions
}

// GraphSummary is one line of the graph list.
type GraphSummary struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	LatestVersion int       `json:"latest_version"`
	UpdatedAt     time.Time `json:"updated_at"`
	UpdatedBy     string    `json:"updated_by"`
	// DraftChanged is true when the draft differs from the latest version (by hash, or by
	// bytes for a draft never saved with a hash), and when nothing is published yet.
	DraftChanged bool `json:"draft_changed"`
}

// MaxGraphNameLength bounds a graph's display name, in characters.
const MaxGraphNameLength = 200

// MaxVersionNoteLength bounds a version note, in characters.
const MaxVersionNoteLength = 2000

const maxSlugLength = 48

var graphIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidGraphID reports whether id has the form of a graph id.
func ValidGraphID(id string) bool { return graphIDPattern.MatchString(id) }

// Slug turns a graph name into the base of its id: lowercase ASCII letters and digits (Latin
// letters with accents lose them: "Café" gives "cafe"), other runs of characters become one
// '-', at most 48 characters. It is "" when the name has nothing to spell an id with, such as
// "::" or "日本語"; such a graph needs an id given with it.
func Slug(name string) string {
	var b strings.Builder
	pendingDash := false
	for _, r := range strings.ToLower(name) {
		if b.Len() >= maxSlugLength {
			break
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent belongs to the letter before it
		}
		spelt := slugFolds[r]
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			spelt = string(r)
		}
		if spelt == "" {
			pendingDash = true
			continue
		}
		if pendingDash && b.Len() > 0 {
			b.WriteByte('-')
		}
		pendingDash = false
		b.WriteString(spelt)
	}
	s := b.String()
	if len(s) > maxSlugLength {
		s = s[:maxSlugLength]
	}
	return strings.TrimRight(s, "-")
}

// slugFolds spells the lowercase Latin letters with accents, and a few others, in ASCII.
var slugFolds = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d",
		'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ŀ': "l", 'ĳ': "ij", 'ſ': "s"}
	for ascii, letters := range map[string]string{
		"a": "àáâãäåāăąǎ", "c": "çćĉċč", "d": "ď", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥ",
		"i": "ìíîïĩīĭįǐ", "j": "ĵ", "k": "ķ", "l": "ĺļľ", "n": "ñńņňŉ", "o": "òóôõöōŏőǒ",
		"r": "ŕŗř", "s": "śŝşšș", "t": "ţťț", "u": "ùúûüũūŭůűųǔ", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	} {
		for _, r := range letters {
			m[r] = ascii
		}
	}
	return m
}()

// checkGraphID checks an id given for a new graph.
func checkGraphID(id string) error {
	if !ValidGraphID(id) {
		return invalidf("%q cannot be a graph id: use lowercase letters, digits and dashes, starting with a letter or digit, such as contract-review", id)
	}
	return nil
}

func validateGraphName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalidf("a graph needs a name")
	case !utf8.ValidString(name):
		return "", invalidf("the graph name is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxGraphNameLength:
		return "", invalidf("the graph name is too long: use at most %d characters", MaxGraphNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", invalidf("the graph name must not contain control characters")
	}
	return name, nil
}

// CreateGraph creates a graph whose id is the slug of its name, made unique with a -2, -3…
// suffix. An empty draft becomes an empty graph document with that name. A name with
// nothing to make an id from is refused (ErrInvalid); CreateGraphWithID takes one.
func (db *DB) CreateGraph(ctx context.Context, name string, draft json.RawMessage, by string) (*Graph, error) {
	return db.CreateGraphWithID(ctx, "", name, draft, by)
}

// CreateGraphWithID is CreateGraph with the id chosen by the caller: it must be a valid graph
// id (ErrInvalid) and free (ErrConflict). An empty id is derived from the name.
func (db *DB) CreateGraphWithID(ctx context.Context, id, name string, draft json.RawMessage, by string) (*Graph, error) {
	name, err := validateGraphName(name)
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	base := Slug(name)
	switch {
	case id != "":
		if err := checkGraphID(id); err != nil {
			return nil, err
		}
	case base == "":
		return nil, invalidf("the name %q has no letters or digits to make the graph's id from: give an id as well, such as contract-review", name)
	}
	if len(draft) == 0 {
		draft, err = json.Marshal(designer.Graph{Format: designer.Format, Name: name, Nodes: []designer.Node{}, Edges: []designer.Edge{}})
		if err != nil {
			return nil, fmt.Errorf("create graph: %w", err)
		}
	} else if !json.Valid(draft) {
		return nil, invalidf("the graph definition is not valid JSON")
	}
	now := db.nowNanos()
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		if id != "" {
			var taken int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM graphs WHERE id = ?`, id).Scan(&taken); err != nil {
				return err
			}
			if taken > 0 {
				return conflictf("the id %s is taken by another graph: choose another", id)
			}
		} else if id, err = freeGraphID(ctx, tx, base); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO graphs (id, name, draft, draft_hash, draft_revision, draft_updated_at, draft_updated_by, created_at, updated_at, updated_by)
			VALUES (?, ?, ?, '', 1, ?, ?, ?, ?, ?)`, id, name, []byte(draft), now, by, now, now, by)
		return err
	})
	if errors.Is(err, ErrConflict) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("create graph %q: %w", name, err)
	}
	return db.GetGraph(ctx, id)
}

// freeGraphID is base, or base with the first free -2, -3… suffix.
func freeGraphID(ctx context.Context, tx *sql.Tx, base string) (string, error) {
	taken := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM graphs WHERE id = ? OR id GLOB ?`, base, base+"-[0-9]*")
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return "", err
		}
		taken[t] = true
	}
	if err := rows.Close(); err != nil {
		return "", err
	}
	id := base
	for n := 2; taken[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	return id, nil
}

// GetGraph returns the graph with its draft, or ErrNotFound.
func (db *DB) GetGraph(ctx context.Context, id string) (*Graph, error) {
	var g Graph
	var draft []byte
	var draftAt, created, updated int64
	err := db.db.QueryRowContext(ctx, `SELECT g.id, g.name, g.draft, g.draft_hash, g.draft_revision, g.draft_updated_at, g.draft_updated_by,
			coalesce((SELECT max(version) FROM graph_versions WHERE graph_id = g.id), 0), g.created_at, g.updated_at
		FROM graphs g WHERE g.id = ?`, id).Scan(&g.ID, &g.Name, &draft, &g.DraftHash, &g.DraftRevision, &draftAt, &g.DraftUpdatedBy,
		&g.LatestVersion, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("graph %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", id, err)
	}
	g.Draft = json.RawMessage(draft)
	g.DraftUpdatedAt = fromNanos(draftAt)
	g.CreatedAt = fromNanos(created)
	g.UpdatedAt = fromNanos(updated)
	return &g, nil
}

// ListGraphs returns every graph, most recently updated first.
func (db *DB) ListGraphs(ctx context.Context) ([]GraphSummary, error) {
	// A draft without a hash (created and never saved) counts as unchanged when its bytes
	// equal the latest definition, as for a graph created and published from one document.
	rows, err := db.db.QueryContext(ctx, `SELECT g.id, g.name, g.updated_at, g.updated_by, coalesce(v.version, 0),
			v.version IS NULL
			OR (g.draft_hash <> '' AND g.draft_hash <> v.hash)
			OR (g.draft_hash = '' AND g.draft <> v.definition)
		FROM graphs g
		LEFT JOIN graph_versions v ON v.graph_id = g.id
			AND v.version = (SELECT max(version) FROM graph_versions WHERE graph_id = g.id)
		ORDER BY g.updated_at DESC, g.id`)
	if err != nil {
		return nil, fmt.Errorf("list graphs: %w", err)
	}
	defer rows.Close()
	list := []GraphSummary{}
	for rows.Next() {
		var s GraphSummary
		var updated int64
		if err := rows.Scan(&s.ID, &s.Name, &updated, &s.UpdatedBy, &s.LatestVersion, &s.DraftChanged); err != nil {
			return nil, fmt.Errorf("list graphs: %w", err)
		}
		s.UpdatedAt = fromNanos(updated)
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list graphs: %w", err)
	}
	return list, nil
}

// RenameGraph changes a graph's display name; its id stays.
func (db *DB) RenameGraph(ctx context.Context, id, name, by string) error {
	name, err := validateGraphName(name)
	if err != nil {
		return err
	}
	res, err := db.db.ExecContext(ctx, `UPDATE graphs SET name = ?, updated_at = ?, updated_by = ? WHERE id = ?`, name, db.nowNanos(), by, id)
	return affectedOne(res, err, "rename graph "+id, func() error { return notFoundf("graph %q not found", id) })
}

// DeleteGraph deletes a graph, all its versions, its hooks and its schedules' index rows
// (deleteGraphTriggers). The caller checks that no run needs it.
func (db *DB) DeleteGraph(ctx context.Context, id string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if err := deleteGraphTriggers(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM graphs WHERE id = ?`, id)
		return affectedOne(res, err, "delete graph "+id, func() error { return notFoundf("graph %q not found", id) })
	})
}

// affectedOne turns the result of a single-row UPDATE or DELETE into nil, notFound() when no
// row matched, or a wrapped error.
func affectedOne(res sql.Result, err error, what string, notFound func() error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

// SaveDraft replaces a graph's draft and returns its new revision. baseRevision is the
// revision the editor started from: when another save came in between, it returns ErrConflict
// instead of overwriting newer work. baseRevision 0 saves unconditionally.
func (db *DB) SaveDraft(ctx context.Context, id string, draft json.RawMessage, draftHash string, baseRevision int64, by string) (int64, error) {
	if !json.Valid(draft) {
		return 0, invalidf("the draft is not valid JSON")
	}
	if baseRevision < 0 {
		return 0, invalidf("the base revision must not be negative")
	}
	var rev int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var lastBy string
		err := tx.QueryRowContext(ctx, `SELECT draft_revision, draft_updated_by FROM graphs WHERE id = ?`, id).Scan(&rev, &lastBy)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("graph %q not found", id)
		}
		if err != nil {
			return err
		}
		if baseRevision != 0 && baseRevision != rev {
			return conflictf("the draft of %s was saved by %s (revision %d) after the revision %d you edited; reload to get the latest draft",
				id, lastBy, rev, baseRevision)
		}
		rev++
		now := db.nowNanos()
		_, err = tx.ExecContext(ctx, `UPDATE graphs SET draft = ?, draft_hash = ?, draft_revision = ?, draft_updated_at = ?, draft_updated_by = ?,
			updated_at = ?, updated_by = ? WHERE id = ?`, []byte(draft), draftHash, rev, now, by, now, by, id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return 0, err
		}
		return 0, fmt.Errorf("save draft of %s: %w", id, err)
	}
	return rev, nil
}

// PublishVersion stores def as the graph's next version. It refuses (ErrConflict) a
// definition whose hash equals the latest version's.
func (db *DB) PublishVersion(ctx context.Context, id string, def json.RawMessage, hash, note, author string) (*Version, error) {
	switch {
	case !json.Valid(def):
		return nil, invalidf("the definition is not valid JSON")
	case hash == "":
		return nil, invalidf("a version needs its content hash")
	case utf8.RuneCountInString(note) > MaxVersionNoteLength:
		return nil, invalidf("the note is too long: use at most %d characters", MaxVersionNoteLength)
	}
	now := db.nowNanos()
	v := &Version{GraphID: id, Note: note, Author: author, CreatedAt: fromNanos(now), Hash: hash, Definition: def}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM graphs WHERE id = ?`, id).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return notFoundf("graph %q not found", id)
		}
		var latest int
		var latestHash string
		err := tx.QueryRowContext(ctx, `SELECT version, hash FROM graph_versions WHERE graph_id = ? ORDER BY version DESC LIMIT 1`, id).Scan(&latest, &latestHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if latest > 0 && latestHash == hash {
			return conflictf("the draft is identical to version %d", latest)
		}
		v.Version = latest + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO graph_versions (graph_id, version, note, author, created_at, hash, retired, definition)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?)`, id, v.Version, note, author, now, hash, []byte(def)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE graphs SET updated_at = ?, updated_by = ? WHERE id = ?`, now, author, id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("publish graph %s: %w", id, err)
	}
	return v, nil
}

const versionColumns = `SELECT graph_id, version, note, author, created_at, hash, retired`

func scanVersion(row interface{ Scan(...any) error }, withDef bool) (*Version, error) {
	var v Version
	var created int64
	var def []byte
	dest := []any{&v.GraphID, &v.Version, &v.Note, &v.Author, &created, &v.Hash, &v.Retired}
	if withDef {
		dest = append(dest, &def)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	v.CreatedAt = fromNanos(created)
	if withDef {
		v.Definition = json.RawMessage(def)
	}
	return &v, nil
}

// ListVersions returns a graph's versions without their definitions, newest first. A graph
// without versions gives an empty list; an unknown graph gives ErrNotFound.
func (db *DB) ListVersions(ctx context.Context, id string) ([]Version, error) {
	var exists int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM graphs WHERE id = ?`, id).Scan(&exists); err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, err)
	}
	if exists == 0 {
		return nil, notFoundf("graph %q not found", id)
	}
	rows, err := db.db.QueryContext(ctx, versionColumns+` FROM graph_versions WHERE graph_id = ? ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, err)
	}
	defer rows.Close()
	list := []Version{}
	for rows.Next() {
		v, err := scanVersion(rows, false)
		if err != nil {
			return nil, fmt.Errorf("versions of %s: %w", id, err)
		}
		list = append(list, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, err)
	}
	return list, nil
}

// GetVersion returns one version with its definition, or ErrNotFound.
func (db *DB) GetVersion(ctx context.Context, id string, version int) (*Version, error) {
	v, err := scanVersion(db.db.QueryRowContext(ctx, versionColumns+`, definition FROM graph_versions WHERE graph_id = ? AND version = ?`, id, version), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("graph %q has no version %d", id, version)
	}
	if err != nil {
		return nil, fmt.Errorf("graph %s version %d: %w", id, version, err)
	}
	return v, nil
}

// LatestVersion returns the highest-numbered version with its definition, retired or not
// (callers starting a run check Retired), or ErrNotFound when nothing is published.
func (db *DB) LatestVersion(ctx context.Context, id string) (*Version, error) {
	v, err := scanVersion(db.db.QueryRowContext(ctx, versionColumns+`, definition FROM graph_versions WHERE graph_id = ? ORDER BY version DESC LIMIT 1`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("graph %q has no published version", id)
	}
	if err != nil {
		return nil, fmt.Errorf("latest version of %s: %w", id, err)
	}
	return v, nil
}

// RetireVersion marks a version retired: no new runs start on it. Retiring twice is fine.
func (db *DB) RetireVersion(ctx context.Context, id string, version int) error {
	res, err := db.db.ExecContext(ctx, `UPDATE graph_versions SET retired = 1 WHERE graph_id = ? AND version = ?`, id, version)
	return affectedOne(res, err, fmt.Sprintf("retire graph %s version %d", id, version),
		func() error { return notFoundf("graph %q has no version %d", id, version) })
}

// VersionDefinition decodes a published version's definition. It satisfies the engine's
// VersionSource.
func (db *DB) VersionDefinition(ctx context.Context, graphID string, version int) (*designer.Graph, error) {
	v, err := db.GetVersion(ctx, graphID, version)
	if err != nil {
		return nil, err
	}
	var g designer.Graph
	if err := json.Unmarshal(v.Definition, &g); err != nil {
		return nil, fmt.Errorf("decode graph %s version %d: %w", graphID, version, err)
	}
	return &g, nil
}
