package overlays

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A render killed between creating its new tree and swapping it in leaves
// .<out>.vigil-new-* (or, on the two-rename path, .<out>.vigil-old-*)
// beside OUT; the next render into OUT removes them, and only them.
func TestWriteRemovesLeftoversOfKilledRenders(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	leftovers := []string{".out.vigil-new-123", ".out.vigil-old-456"}
	kept := []string{".other.vigil-new-1", "out.vigil-new-2", ".outer.vigil-new-3"}
	for _, d := range append(append([]string(nil), leftovers...), kept...) {
		if err := os.MkdirAll(filepath.Join(parent, d, "base"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, d, "base", "x.yaml"), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Write(context.Background(), treeOf(t, smallStack()), out); err != nil {
		t.Fatal(err)
	}
	for _, d := range leftovers {
		if _, err := os.Lstat(filepath.Join(parent, d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left by an interrupted render is still there (%v)", d, err)
		}
	}
	for _, d := range kept {
		if _, err := os.Lstat(filepath.Join(parent, d)); err != nil {
			t.Errorf("%s is not a leftover of out but was removed: %v", d, err)
		}
	}
}

// Two renders into one OUT never run their swaps at once: the second waits
// for the first, and fails clearly when it waits too long.
func TestWriteTakesAnExclusiveLock(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	tree := treeOf(t, smallStack())
	unlock, busy, err := tryLock(parent)
	if err != nil || busy {
		t.Fatalf("lock: busy %v, %v", busy, err)
	}
	defer func(w time.Duration) { lockWait = w }(lockWait)
	lockWait = 200 * time.Millisecond
	if _, err := Write(context.Background(), tree, out); !errors.Is(err, ErrLocked) {
		t.Fatalf("write while another render holds the lock: got %v, want ErrLocked", err)
	}
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a write that could not lock created %s", out)
	}

	lockWait = 10 * time.Second
	go func() { time.Sleep(150 * time.Millisecond); unlock() }()
	start := time.Now()
	if _, err := Write(context.Background(), tree, out); err != nil {
		t.Fatalf("write after the other render finished: %v", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("the write did not wait for the lock")
	}
}

// A foreign non-empty directory is refused from its top level: "/" and
// "/usr" are refused at once, not after walking the file system.
func TestWriteRefusesSystemDirectoriesWithoutWalking(t *testing.T) {
	tree := treeOf(t, smallStack())
	for _, dir := range []string{"/", "/usr"} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		start := time.Now()
		_, err := Write(context.Background(), tree, dir)
		if !errors.Is(err, ErrNotOwned) {
			t.Errorf("Write %s: got %v, want ErrNotOwned", dir, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Write %s took %s to refuse: it walked the directory", dir, took)
		}
	}
}
