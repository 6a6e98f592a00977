package overlays

// Warm parses kustomize's built-in OpenAPI schema, which the first build of
// a process otherwise waits for (about 60 ms here). Render starts it in a
// goroutine while CUE loads; it is safe to call concurrently and repeatedly.
func Warm() { warmSchema() }
