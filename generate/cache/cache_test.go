package cache

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
)

// The cache has no golden files; the flag is accepted so that the one
// command that rewrites goldens, go test ./... -update, runs here too.
var _ = flag.Bool("update", false, "no golden files in this package")

func key(s string) Key { return Key(sha256.Sum256([]byte(s))) }

func TestPutGet(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(key("a")); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Put(key("a"), []byte("payload")); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get(key("a"))
	if !ok || string(got) != "payload" {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	if _, ok := c.Get(key("b")); ok {
		t.Fatal("hit for another key")
	}
}

// TestCorruptedEntryHeals flips a byte, truncates, and writes garbage:
// each is a miss, the entry is removed, and the next Put restores it.
func TestCorruptedEntryHeals(t *testing.T) {
	for name, corrupt := range map[string]func([]byte) []byte{
		"flipped":   func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"truncated": func(b []byte) []byte { return b[:len(b)-3] },
		"short":     func(b []byte) []byte { return b[:5] },
		"empty":     func([]byte) []byte { return nil },
		"format":    func(b []byte) []byte { return append([]byte("vigil-cache v0\n"), b[len(magic):]...) },
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := Open(t.TempDir())
			k := key(name)
			if err := c.Put(k, []byte("the rendered files")); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(c.Path(k))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.Path(k), corrupt(b), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.Get(k); ok {
				t.Fatalf("corrupted entry was a hit: %q", got)
			}
			if _, err := os.Stat(c.Path(k)); !os.IsNotExist(err) {
				t.Fatalf("corrupted entry not removed: %v", err)
			}
			if err := c.Put(k, []byte("the rendered files")); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.Get(k); !ok || string(got) != "the rendered files" {
				t.Fatalf("after healing: %q, %v", got, ok)
			}
		})
	}
}

// TestConcurrent has goroutines write and read the same keys at once:
// every hit is a whole, correct payload, and no temporary file is left.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c, err := Open(dir) // each as if a process of its own
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 50 {
				k := key(fmt.Sprint(i % 5))
				want := bytes.Repeat([]byte{byte(i % 5)}, 64<<10)
				if (i+w)%2 == 0 {
					if err := c.Put(k, want); err != nil {
						t.Error(err)
					}
				}
				if got, ok := c.Get(k); ok && !bytes.Equal(got, want) {
					t.Errorf("key %d: torn or wrong payload (%d bytes)", i%5, len(got))
				}
			}
		})
	}
	wg.Wait()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		sub, _ := os.ReadDir(dir + "/" + e.Name())
		for _, f := range sub {
			if len(f.Name()) < 10 {
				t.Errorf("left behind: %s/%s", e.Name(), f.Name())
			}
		}
	}
}
