//go:build !linux

package overlays

func exchange(a, b string) error { return errExchangeUnsupported }

func renameNoReplace(a, b string) error { return renameIfMissing(a, b) }
