package store

import (
	"context"
	"errors"
	"time"
)

// Key is an API key as stored: never the secret, only its hash.
type Key struct {
	// ID identifies the key in lists, logs and usage records ("key_3f9a2c...").
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the full key.
	Hash string `json:"-"`
	// Prefix is the key's first characters, shown to help people recognise it.
	Prefix string `json:"prefix"`
	// Name is an optional label.
	Name string `json:"name,omitempty"`
	// Consumer owns the key.
	Consumer string `json:"consumer"`
	// Models, when not empty, are the only models the key may use.
	Models []string `json:"models,omitempty"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// CreatedAt is when the key was made.
	CreatedAt time.Time `json:"createdAt"`
	// RevokedAt, when set, is when the key was revoked.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// Source is "config" for keys declared in the configuration, "admin"
	// for keys made through the admin API.
	Source string `json:"source"`
}

// ErrNotFound is returned for a key id or hash the store does not hold.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by Create for a key whose ID or Hash is already stored.
var ErrExists = errors.New("already exists")

// Keys stores the keys made at run time (those of the configuration live in
// the snapshot). Implementations are safe for concurrent use.
type Keys interface {
	// Create stores a new key (its ID and Hash must be unique: ErrExists).
	Create(ctx context.Context, k Key) error
	// List returns the keys, of one consumer when consumer is not "", revoked ones included.
	List(ctx context.Context, consumer string) ([]Key, error)
	// Revoke marks the key revoked at t; ErrNotFound if there is none.
	Revoke(ctx context.Context, id string, t time.Time) error
	// All returns every key, for a cache to load at start and on refresh.
	All(ctx context.Context) ([]Key, error)
	// Watch calls fn with a key's id whenever any replica creates or revokes
	// a key, until ctx ends, so that caches everywhere change at once. An
	// embedded store calls it for its own writes only. fn("") means "reload
	// everything": every store sends it once it is listening, and a shared
	// store again after every reconnection, since a change made before it
	// listened (after a cache's first load, say) was not seen.
	Watch(ctx context.Context, fn func(id string)) error
	// Close releases the store's resources.
	Close() error
}
