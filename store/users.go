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
}

// HasRole reports whether the user has role; admins have every role.
func (u *User) HasRole(role string) bool {
	return slices.Contains(u.Roles, role) || slices.Contains(u.Roles, RoleAdmin)
}

// InGroup reports whether the user is a member of group g.
func (u *User) InGroup(g string) bool {
	return slices.Contains(u.Groups, g)
}

// UserInput creates or updates a user.
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

// UpsertUser creates the user named in.Name or updates it. created tells which happened.
func (db *DB) UpsertUser(ctx context.Context, in UserInput) (u *User, created bool, err error) {
	if err := ValidateUserName(in.Name); err != nil {
		return nil, false, err
	}
	roles, err := normalizeSet(in.Roles, validateRole)
	if err != nil {
		return nil, false, err
	}
	groups, err := normalizeSet(in.Groups, ValidateGroupName)
	if err != nil {
		return nil, false, err
	}
	var hash []byte
	if in.Password != "" {
		if err := validatePassword(in.Password); err != nil {
			return nil, false, err
		}
		// Hash outside the transaction: at cost 12 it takes a quarter second.
		hash, err = bcrypt.GenerateFromPassword([]byte(in.Password), db.cost)
		if err != nil {
			return nil, false, fmt.Errorf("hash password: %w", err)
		}
	}
	now := db.nowNanos()
	var id int64
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, in.Name).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if hash == nil {
				return invalidf("a password is required for the new user %q", in.Name)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
				in.Name, hash, now, now)
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		case hash != nil:
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now, id); err != nil {
				return err
			}
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = ? WHERE id = ?`, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ?`, id); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, id, r); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE user_id = ?`, id); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_name) VALUES (?, ?)`, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("upsert user %s: %w", in.Name, err)
	}
	u, err = db.UserByID(ctx, id)
	if err != nil {
		return nil, false, err
	}
	return u, created, nil
}

// Authenticate returns the user when name and password match, and ErrBadCredentials for an
// unknown user or a wrong password alike. An unknown user is hashed against a dummy so that
// both take the same time.
func (db *DB) Authenticate(ctx context.Context, name, password string) (*User, error) {
	var id int64
	var hash []byte
	err := db.db.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE name = ?`, name).Scan(&id, &hash)
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
const userColumns = `SELECT u.id, u.name, u.created_at,
	coalesce((SELECT group_concat(role, ',') FROM user_roles WHERE user_id = u.id), ''),
	coalesce((SELECT group_concat(group_name, ',') FROM user_groups WHERE user_id = u.id), '')
	FROM users u`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	var roles, groups string
	if err := row.Scan(&u.ID, &u.Name, &created, &roles, &groups); err != nil {
		return nil, err
	}
	u.CreatedAt = fromNanos(created)
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

// DeleteUser deletes the user with its sessions and API tokens, or returns ErrNotFound.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	} else if n == 0 {
		return notFoundf("user %q not found", name)
	}
	return nil
}
