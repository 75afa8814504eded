package web

import (
	"context"

	"trellis/store"
)

// UserAdmin is what the user administration pages need (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown user or token; store.ErrConflict from CreateUser for a taken
// name and from UpdateUser, DisableUser and DeleteUser for the last enabled admin;
// store.ErrInvalid for a bad role, group or password.
type UserAdmin interface {
	UserByName(ctx context.Context, name string) (*store.User, error)
	CreateUser(ctx context.Context, in store.UserInput) (*store.User, error)
	UpdateUser(ctx context.Context, name string, up store.UserUpdate) (*store.User, store.UserChange, error)
	DisableUser(ctx context.Context, name string) (store.AccessEnded, error)
	EnableUser(ctx context.Context, name string) error
	DeleteUser(ctx context.Context, name string) error
	ListTokens(ctx context.Context, userName string) ([]store.Token, error)
	RevokeUserToken(ctx context.Context, userName string, id int64) error
}
