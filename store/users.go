package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Roles. Admin has every role.
const (
	RoleAnalyst   = "analyst"
	RoleReviewer  = "reviewer"
	RoleDeveloper = "developer"
	RoleAdmin     = "admin"
)

// Roles lists every role in the order the UI shows them.
var Roles = []string{RoleAnalyst, RoleReviewer, RoleDeveloper, RoleAdmin}

// MinPasswordLength is the shortest password accepted. bcrypt reads at most 72 bytes, so
// longer passwords are refused rather than silently truncated.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 72
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// User is a person who signs in to Trellis.
type User struct {
	ID        int64
	Name      string
	Roles     []string // sorted
	Groups    []string // sorted
	CreatedAt time.Time
	// DisabledAt is when the user was disabled; zero while the user is enabled.
	DisabledAt time.Time
}

// Disabled reports whether the user is disabled: no sign-in, no sessions, no API tokens.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// HasRole reports whether the user has role; admins have every role.
func (u *User) HasRole(role string) bool {
	return slices.Contains(u.Roles, role) || slices.Contains(u.Roles, RoleAdmin)
}

// InGroup reports whether the user is a member of group g.
func (u *User) InGroup(g string) bool {
	return slices.Contains(u.Groups, g)
}

// UserInput creates a user (CreateUser) or creates or replaces one (UpsertUser).
type UserInput struct {
	Name string
	// Password is required for a new user; empty on update keeps the current one.
	Password string
	// Roles and Groups replace the user's current sets.
	Roles  []string
	Groups []string
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool { return slices.Contains(Roles, role) }

// ValidateUserName returns an ErrInvalid error when name is not a valid user name.
func ValidateUserName(name string) error {
	if !namePattern.MatchString(name) {
		return invalidf("user name %q is not valid: use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// ValidateGroupName returns an ErrInvalid error when g is not a valid group name.
func ValidateGroupName(g string) error {
	if !namePattern.MatchString(g) {
		return invalidf("group name %q is not valid: use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", g)
	}
	return nil
}

func validatePassword(pw string) error {
	if len(pw) < MinPasswordLength {
		return invalidf("the password is too short: use at least %d characters", MinPasswordLength)
	}
	if len(pw) > MaxPasswordLength {
		return invalidf("the password is too long: use at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// normalizeSet validates, de-duplicates and sorts roles or groups.
func normalizeSet(items []string, validate func(string) error) ([]string, error) {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if err := validate(it); err != nil {
			return nil, err
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	sort.Strings(out)
	return out, nil
}

func validateRole(r string) error {
	if !ValidRole(r) {
		return invalidf("unknown role %q: use %s", r, strings.Join(Roles, ", "))
	}
	return nil
}

// normalizeUser validates the roles, groups and (when not empty) the password of a create or
// update, and hashes the password.
func (db *DB) normalizeUser(roles, groups []string, password string) (r, g []string, hash []byte, err error) {
	if r, err = normalizeSet(roles, validateRole); err != nil {
		return nil, nil, nil, err
	}
	if g, err = normalizeSet(groups, ValidateGroupName); err != nil {
		return nil, nil, nil, err
	}
	if password != "" {
		if err := validatePassword(password); err != nil {
			return nil, nil, nil, err
		}
		// Hash outside any transaction: at cost 12 it takes a quarter second.
		if hash, err = bcrypt.GenerateFromPassword([]byte(password), db.cost); err != nil {
			return nil, nil, nil, fmt.Errorf("hash password: %w", err)
		}
	}
	return r, g, hash, nil
}

// CreateUser adds a new user. It returns ErrConflict when the name is taken, so that adding
// can never change an existing user, and ErrInvalid for a bad name, role, group or password.
func (db *DB) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	if err := ValidateUserName(in.Name); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, invalidf("a password is required for the new user %q", in.Name)
	}
	roles, groups, hash, err := db.normalizeUser(in.Roles, in.Groups, in.Password)
	if err != nil {
		return nil, err
	}
	now := db.nowNanos()
	var id int64
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, in.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflictf("a user named %q already exists", in.Name)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			in.Name, hash, now, now)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := replaceRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		return replaceGroups(ctx, tx, id, groups)
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("create user %s: %w", in.Name, err)
	}
	return db.UserByID(ctx, id)
}

// UserUpdate changes an existing user: Roles and Groups replace the current sets.
type UserUpdate struct {
	Roles  []string
	Groups []string
	// Password is a new password; empty keeps the current one.
	Password string
	// KeepSession is a session token that survives the update: the editor's own, when admins
	// edit themselves. Sessions of other users are unaffected by it.
	KeepSession string
}

// UserChange says what UpdateUser changed.
type UserChange struct {
	RolesAdded      []string
	RolesRemoved    []string
	GroupsChanged   bool
	PasswordChanged bool
	// SessionsEnded counts the user's browser sessions ended because the password or the
	// roles changed.
	SessionsEnded int64
	// TokensRevoked counts the user's API tokens revoked because the password changed or a
	// role was taken away: a token made under the old terms must not outlive them. A role
	// added keeps the tokens, which act with the user's roles of the moment.
	TokensRevoked int64
}

// Changed reports whether anything changed.
func (c UserChange) Changed() bool {
	return len(c.RolesAdded) > 0 || len(c.RolesRemoved) > 0 || c.GroupsChanged || c.PasswordChanged
}

// UpdateUser changes the user named name, or returns ErrNotFound. A new password or a change
// of roles ends the user's sessions (except up.KeepSession), so they sign in again under the
// new terms; a new password or a role taken away also revokes their API tokens. Taking the admin role from the last enabled admin is ErrConflict.
func (db *DB) UpdateUser(ctx context.Context, name string, up UserUpdate) (*User, UserChange, error) {
	var ch UserChange
	roles, groups, _, err := db.normalizeUser(up.Roles, up.Groups, "")
	if err != nil {
		return nil, ch, err
	}
	var hash []byte
	if up.Password != "" {
		if err := validatePassword(up.Password); err != nil {
			return nil, ch, err
		}
		// The same password again is no change and must not end the sessions.
		var old []byte
		err := db.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE name = ?`, name).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ch, notFoundf("user %q not found", name)
		}
		if err != nil {
			return nil, ch, fmt.Errorf("update user %s: %w", name, err)
		}
		if bcrypt.CompareHashAndPassword(old, []byte(up.Password)) != nil {
			if _, _, hash, err = db.normalizeUser(nil, nil, up.Password); err != nil {
				return nil, ch, err
			}
		}
	}
	now := db.nowNanos()
	var id int64
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		ch = UserChange{}
		cur, err := scanUser(tx.QueryRowContext(ctx, userColumns+` WHERE u.name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("user %q not found", name)
		}
		if err != nil {
			return err
		}
		id = cur.ID
		ch.RolesAdded = missingFrom(roles, cur.Roles)
		ch.RolesRemoved = missingFrom(cur.Roles, roles)
		ch.GroupsChanged = !slices.Equal(groups, cur.Groups)
		ch.PasswordChanged = hash != nil
		if slices.Contains(ch.RolesRemoved, RoleAdmin) && !cur.Disabled() {
			if err := requireOtherAdmin(ctx, tx, cur); err != nil {
				return err
			}
		}
		if !ch.Changed() {
			return nil
		}
		if hash != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = ? WHERE id = ?`, now, id); err != nil {
			return err
		}
		if len(ch.RolesAdded)+len(ch.RolesRemoved) > 0 {
			if err := replaceRoles(ctx, tx, id, roles); err != nil {
				return err
			}
		}
		if ch.GroupsChanged {
			if err := replaceGroups(ctx, tx, id, groups); err != nil {
				return err
			}
		}
		if ch.PasswordChanged || len(ch.RolesAdded)+len(ch.RolesRemoved) > 0 {
			if ch.SessionsEnded, err = endSessions(ctx, tx, id, up.KeepSession); err != nil {
				return err
			}
		}
		if ch.PasswordChanged || len(ch.RolesRemoved) > 0 {
			ch.TokensRevoked, err = revokeTokens(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return nil, UserChange{}, err
		}
		return nil, UserChange{}, fmt.Errorf("update user %s: %w", name, err)
	}
	u, err := db.UserByID(ctx, id)
	if err != nil {
		return nil, UserChange{}, err
	}
	return u, ch, nil
}

// UpsertUser creates the user named in.Name, or updates it as UpdateUser does (the command
// line's "user add" replaces roles and groups on purpose). created tells which happened.
func (db *DB) UpsertUser(ctx context.Context, in UserInput) (u *User, created bool, err error) {
	if err := ValidateUserName(in.Name); err != nil {
		return nil, false, err
	}
	u, _, err = db.UpdateUser(ctx, in.Name, UserUpdate{Roles: in.Roles, Groups: in.Groups, Password: in.Password})
	if !errors.Is(err, ErrNotFound) {
		return u, false, err
	}
	u, err = db.CreateUser(ctx, in)
	if errors.Is(err, ErrConflict) {
		// Created by someone else in between: update it after all.
		u, _, err = db.UpdateUser(ctx, in.Name, UserUpdate{Roles: in.Roles, Groups: in.Groups, Password: in.Password})
		return u, false, err
	}
	return u, err == nil, err
}

// missingFrom returns the items of a that b lacks, in a's order.
func missingFrom(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func replaceRoles(ctx context.Context, tx *sql.Tx, userID int64, roles []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, userID, r); err != nil {
			return err
		}
	}
	return nil
}

func replaceGroups(ctx context.Context, tx *sql.Tx, userID int64, groups []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_name) VALUES (?, ?)`, userID, g); err != nil {
			return err
		}
	}
	return nil
}

// requireOtherAdmin returns ErrConflict unless an enabled admin other than u remains, so that
// someone can always manage users.
func requireOtherAdmin(ctx context.Context, tx *sql.Tx, u *User) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE r.role = ? AND u.disabled_at IS NULL AND u.id != ?`, RoleAdmin, u.ID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflictf("%s is the last enabled admin: give another user the admin role first, so that someone can still manage users", u.Name)
	}
	return nil
}

// endSessions deletes the user's sessions except keep (a session token, may be empty).
func endSessions(ctx context.Context, tx *sql.Tx, userID int64, keep string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash != ?`, userID, hashToken(keep))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// revokeTokens deletes all the user's API tokens.
func revokeTokens(ctx context.Context, tx *sql.Tx, userID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Authenticate returns the user when name and password match, and ErrBadCredentials for an
// unknown user, a wrong password or a disabled user alike. An unknown user is hashed against a
// dummy so that all take the same time.
func (db *DB) Authenticate(ctx context.Context, name, password string) (*User, error) {
	var id int64
	var hash []byte
	var disabled sql.NullInt64
	err := db.db.QueryRowContext(ctx, `SELECT id, password_hash, disabled_at FROM users WHERE name = ?`, name).Scan(&id, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(db.dummy(), []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate %s: %w", name, err)
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil {
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return nil, ErrBadCredentials
		}
		return nil, fmt.Errorf("authenticate %s: %w", name, err)
	}
	if disabled.Valid {
		return nil, ErrBadCredentials
	}
	return db.UserByID(ctx, id)
}

// dummy is a hash at the store's cost that no password is compared with successfully.
func (db *DB) dummy() []byte {
	db.dummyOnce.Do(func() {
		// Only an invalid cost fails, and Open checked it.
		db.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("trellis-dummy-password"), db.cost)
	})
	return db.dummyHash
}

// userColumns selects a user with its roles and groups in one statement, so the three are
// read from one snapshot without a transaction.
const userColumns = `SELECT u.id, u.name, u.created_at, u.disabled_at,
	coalesce((SELECT group_concat(role, ',') FROM user_roles WHERE user_id = u.id), ''),
	coalesce((SELECT group_concat(group_name, ',') FROM user_groups WHERE user_id = u.id), '')
	FROM users u`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	var disabled sql.NullInt64
	var roles, groups string
	if err := row.Scan(&u.ID, &u.Name, &created, &disabled, &roles, &groups); err != nil {
		return nil, err
	}
	u.CreatedAt = fromNanos(created)
	if disabled.Valid {
		u.DisabledAt = fromNanos(disabled.Int64)
	}
	u.Roles = splitSorted(roles)
	u.Groups = splitSorted(groups)
	return &u, nil
}

func splitSorted(s string) []string {
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	sort.Strings(parts)
	return parts
}

// UserByID returns the user with that id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(db.db.QueryRowContext(ctx, userColumns+` WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("user %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UserByName returns the user with that name, or ErrNotFound.
func (db *DB) UserByName(ctx context.Context, name string) (*User, error) {
	u, err := scanUser(db.db.QueryRowContext(ctx, userColumns+` WHERE u.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by name.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := db.db.QueryContext(ctx, userColumns+` ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// GroupMembers returns the names of the users in group, ordered; an unknown group has none.
func (db *DB) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if err := ValidateGroupName(group); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT u.name FROM users u
		JOIN user_groups g ON g.user_id = u.id
		WHERE g.group_name = ? ORDER BY u.name`, group)
	if err != nil {
		return nil, fmt.Errorf("members of group %s: %w", group, err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("members of group %s: %w", group, err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members of group %s: %w", group, err)
	}
	return names, nil
}

// AccessEnded counts the sessions and API tokens a change ended.
type AccessEnded struct {
	Sessions int64
	Tokens   int64
}

// DeleteUser deletes the user with their sessions and API tokens, or returns ErrNotFound.
// Deleting the last enabled admin is ErrConflict.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		u, err := userForRemoval(ctx, tx, name)
		if err != nil {
			return err
		}
		// Sessions and tokens go with the user (ON DELETE CASCADE).
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return err
		}
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	return nil
}

// userForRemoval reads the user named name for a change that takes away all their access, and
// refuses it for the last enabled admin.
func userForRemoval(ctx context.Context, tx *sql.Tx, name string) (*User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, userColumns+` WHERE u.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("user %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	if slices.Contains(u.Roles, RoleAdmin) && !u.Disabled() {
		if err := requireOtherAdmin(ctx, tx, u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// DisableUser disables the user: they can no longer sign in, and their sessions end and their
// API tokens are revoked at once (enabling them again does not bring the tokens back).
// Disabling a disabled user changes nothing; disabling the last enabled admin is ErrConflict.
func (db *DB) DisableUser(ctx context.Context, name string) (AccessEnded, error) {
	var ended AccessEnded
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		ended = AccessEnded{}
		u, err := userForRemoval(ctx, tx, name)
		if err != nil || u.Disabled() {
			return err
		}
		now := db.nowNanos()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?`, now, now, u.ID); err != nil {
			return err
		}
		if ended.Sessions, err = endSessions(ctx, tx, u.ID, ""); err != nil {
			return err
		}
		ended.Tokens, err = revokeTokens(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return AccessEnded{}, err
		}
		return AccessEnded{}, fmt.Errorf("disable user %s: %w", name, err)
	}
	return ended, nil
}

// EnableUser lets a disabled user sign in again, or returns ErrNotFound. Enabling an enabled
// user changes nothing.
func (db *DB) EnableUser(ctx context.Context, name string) error {
	now := db.nowNanos()
	res, err := db.db.ExecContext(ctx, `UPDATE users SET disabled_at = NULL, updated_at = ? WHERE name = ? AND disabled_at IS NOT NULL`, now, name)
	if err != nil {
		return fmt.Errorf("enable user %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("enable user %s: %w", name, err)
	} else if n == 0 {
		if _, err := db.UserByName(ctx, name); err != nil {
			return err
		}
	}
	return nil
}
