package main

import (
	"os"
	"runtime/debug"
)

// Garbage collection for fleet renders. An environment rendered without the
// cache allocates about 170 MB over a live heap of 40 to 60 MB, so at Go's
// default (collect whenever the heap has doubled) a render of 50 spends a
// fifth of its CPU collecting. A fleet render therefore lets the heap grow
// fivefold, up to a soft limit (README, "Performance"). The limit grows with
// the fleet a little faster than the live heap does (the paths of the tree
// being written, about 100 KB per environment), so the collector never runs
// back to back however large the fleet. One environment keeps Go's
// default: the gain there is within noise, and its memory budget is tighter.
const (
	fleetGCPercent         = 400
	fleetMemoryLimit       = 160 << 20
	fleetMemoryLimitPerEnv = 128 << 10
)

// collectLessOften applies the fleet policy to a render of n environments,
// unless the user tuned the collector with GOGC or GOMEMLIMIT; restore puts
// the previous settings back (tests run many commands in one process).
func collectLessOften(n int) (restore func()) {
	if n < 2 || userTunedGC() {
		return func() {}
	}
	percent := debug.SetGCPercent(fleetGCPercent)
	limit := debug.SetMemoryLimit(fleetMemoryLimit + int64(n)*fleetMemoryLimitPerEnv)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

func userTunedGC() bool {
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		if _, set := os.LookupEnv(v); set {
			return true
		}
	}
	return false
}
