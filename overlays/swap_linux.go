package overlays

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exchange swaps two directory entries in one step (renameat2
// RENAME_EXCHANGE): at every instant dir holds a complete tree.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
		return errExchangeUnsupported
	}
	if err != nil {
		return &os.LinkError{Op: "renameat2 exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// renameNoReplace moves a to b unless b exists, which another writer may
// have created since b was found missing.
func renameNoReplace(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
		return renameIfMissing(a, b)
	}
	if err != nil {
		return &os.LinkError{Op: "renameat2 noreplace", Old: a, New: b, Err: err}
	}
	return nil
}

// syncfsOf flushes the whole file system holding dir (syncfs(2)).
func syncfsOf(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.Syncfs(int(f.Fd()))
	if errors.Is(err, unix.ENOSYS) {
		return errSyncfsUnsupported
	}
	if err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
