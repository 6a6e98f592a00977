//go:build !linux

package overlays

func exchange(a, b string) error { return errExchangeUnsupported }

func renameNoReplace(a, b string) error { return renameIfMissing(a, b) }

// syncfsOf: no syncfs(2) here; syncTree fsyncs file by file.
func syncfsOf(dir string) error { return errSyncfsUnsupported }
