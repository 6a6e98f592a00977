package main

import (
	"os"
	"runtime/debug"
)

// Garbage collection for fleet renders. An environment rendered without the
// cache allocates about 170 MB over a live heap of 40 to 60 MB, so at Go's
// default (collect whenever the heap has doubled) a render of 50 spends a
// fifth of its CPU collecting. A fleet render therefore lets the heap grow
// fivefold, up to a soft limit that does not grow with the fleet: 200 MiB,
// about 260 MB of RSS with the binary's own pages, under the 300 MB the
// performance targets allow at 1,000 environments (README, "Performance").
// (1,000 environments uncached: 256 MB; a limit that grew with the fleet
// took them to 345 MB.) The live heap stays below it, though closer as the
// fleet grows (the tree's paths add about 100 KB per environment): at
// several thousand environments the collector runs ever more often, and a
// higher GOMEMLIMIT trades memory back for speed.
// One environment keeps Go's default: the gain there is within noise, and
// its memory budget is tighter.
const (
	fleetGCPercent   = 400
	fleetMemoryLimit = 200 << 20
)

// collectLessOften applies the fleet policy to a render of n environments,
// unless the user tuned the collector with GOGC or GOMEMLIMIT; restore puts
// the previous settings back (tests run many commands in one process).
func collectLessOften(n int) (restore func()) {
	if n < 2 || userTunedGC() {
		return func() {}
	}
	percent := debug.SetGCPercent(fleetGCPercent)
	limit := debug.SetMemoryLimit(fleetMemoryLimit)
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
