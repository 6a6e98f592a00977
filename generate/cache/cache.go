// Package cache is Vigil's input-addressed render cache: a directory of
// entries, each named by the hash of everything its content was computed
// from, so that an entry never goes stale (a changed input is a new key)
// and two processes that compute the same key write the same bytes.
//
// Safe for concurrent use within and across processes without locks: an
// entry is written to a temporary file in the same directory and renamed
// into place (atomic on POSIX file systems), so a reader sees a whole entry
// or none. Every entry carries a SHA-256 of its payload; an entry that is
// truncated, corrupted or of another format is treated as a miss and
// removed, so the cache heals itself on the next write.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// magic starts every entry; a different format version is a miss.
const magic = "vigil-cache v1\n"

// Key names an entry: a hash of all of its inputs.
type Key [sha256.Size]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Cache is a directory of entries.
type Cache struct {
	dir string
}

// DefaultDir is Vigil's directory in the user's cache directory
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux,
// ~/Library/Caches on macOS, %LocalAppData% on Windows).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("render cache: %w", err)
	}
	return filepath.Join(d, "vigil"), nil
}

// Open uses dir, creating it if needed.
func Open(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("render cache: no directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("render cache: %w", err)
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// path spreads entries over 256 directories so that none grows huge.
func (c *Cache) path(k Key) string {
	s := k.String()
	return filepath.Join(c.dir, s[:2], s[2:])
}

// Get returns the payload stored under k. A missing entry is a miss; so is
// a corrupted one, which Get removes (ok is false either way).
func (c *Cache) Get(k Key) (payload []byte, ok bool) {
	p := c.path(k)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	payload, valid := decode(b)
	if !valid {
		// Removing is best effort: a concurrent Put may already have
		// replaced it with a good entry, which then survives or is
		// written again by the next miss.
		_ = os.Remove(p)
		return nil, false
	}
	return payload, true
}

// Put stores payload under k, atomically. Errors are returned for the
// caller to report or ignore: a cache that cannot be written only costs
// time.
func (c *Cache) Put(k Key, payload []byte) error {
	p := c.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("render cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return fmt.Errorf("render cache: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	sum := sha256.Sum256(payload)
	for _, part := range [][]byte{[]byte(magic), sum[:], payload} {
		if _, err := f.Write(part); err != nil {
			f.Close()
			return fmt.Errorf("render cache: %w", err)
		}
	}
	// No fsync: after a crash an entry may be empty or partial, which its
	// checksum turns into a miss; durability is not worth a sync per entry.
	if err := f.Close(); err != nil {
		return fmt.Errorf("render cache: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("render cache: %w", err)
	}
	return nil
}

// Path is where the entry for k lives, for tests and for `gen` to name it.
func (c *Cache) Path(k Key) string { return c.path(k) }

func decode(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+sha256.Size {
		return nil, false
	}
	b = b[len(magic):]
	sum, payload := b[:sha256.Size], b[sha256.Size:]
	got := sha256.Sum256(payload)
	if !bytes.Equal(sum, got[:]) {
		return nil, false
	}
	return payload, true
}

// Clear removes every entry.
func (c *Cache) Clear() error {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("render cache: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(c.dir, e.Name())); err != nil {
			return fmt.Errorf("render cache: %w", err)
		}
	}
	return nil
}
