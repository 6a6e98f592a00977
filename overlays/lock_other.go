//go:build !unix

package overlays

// tryLock is a no-op where flock does not exist: concurrent renders into
// one directory are not serialized there.
func tryLock(d string) (unlock func(), busy bool, err error) { return func() {}, false, nil }
