package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// unsetenv unsets k for the test; t.Setenv restores it afterwards.
func unsetenv(t *testing.T, k string) {
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100) // the only way to read it is to set it
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1) // a negative limit only reads
}

func TestCollectLessOften(t *testing.T) {
	unsetenv(t, "GOGC")
	unsetenv(t, "GOMEMLIMIT")
	before, beforeLimit := gcSettings()

	restore := collectLessOften(1)
	if p, l := gcSettings(); p != before || l != beforeLimit {
		t.Errorf("one environment: GC %d, limit %d; want Go's settings %d, %d", p, l, before, beforeLimit)
	}
	restore()

	restore = collectLessOften(50)
	p, l := gcSettings()
	restore()
	if p != fleetGCPercent || l != fleetMemoryLimit {
		t.Errorf("50 environments: GC %d, limit %d; want %d, %d", p, l, fleetGCPercent, fleetMemoryLimit)
	}
	if p, l := gcSettings(); p != before || l != beforeLimit {
		t.Errorf("after restore: GC %d, limit %d; want %d, %d", p, l, before, beforeLimit)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	restore = collectLessOften(50)
	defer restore()
	if p, l := gcSettings(); p != before || l != beforeLimit {
		t.Errorf("GOMEMLIMIT set by the user: GC %d, limit %d; want them left alone (%d, %d)", p, l, before, beforeLimit)
	}
}
