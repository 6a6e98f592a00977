package env

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue"
)

// Issue is one problem a Go check found in an environment. Path is the CUE
// path of the field at fault; the loader turns it into a file position.
type Issue struct {
	Path    []string
	Message string
	// Warning marks advice that does not stop a render unless the
	// environment is strict.
	Warning bool
}

// Errorf is shorthand for an error Issue at path.
func Errorf(path []string, message string) Issue { return Issue{Path: path, Message: message} }

// Warnf is shorthand for a warning Issue at path.
func Warnf(path []string, message string) Issue {
	return Issue{Path: path, Message: message, Warning: true}
}

// P builds a path from field names.
func P(fields ...string) []string { return fields }

// PathString renders a path the way CUE prints it, quoting labels that are
// not identifiers.
func PathString(path []string) string {
	return strings.TrimSpace(cue.MakePath(Selectors(path)...).String())
}

// Selectors turns a path into CUE selectors; an all-digit element of a path
// is a list index (Go checks write jobNamespaces[1] as "jobNamespaces", "1").
func Selectors(path []string) []cue.Selector {
	sels := make([]cue.Selector, len(path))
	for i, f := range path {
		if n, err := strconv.Atoi(f); err == nil && n >= 0 && strconv.Itoa(n) == f {
			sels[i] = cue.Index(n)
		} else {
			sels[i] = cue.Str(f)
		}
	}
	return sels
}
