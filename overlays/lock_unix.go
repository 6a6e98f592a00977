//go:build unix

package overlays

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive flock on the directory d without waiting. The
// kernel drops it when the process dies, so a killed render never leaves a
// stale lock behind.
func tryLock(d string) (unlock func(), busy bool, err error) {
	f, err := os.Open(d)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, &os.PathError{Op: "flock", Path: d, Err: err}
	}
	return func() { f.Close() }, false, nil
}
