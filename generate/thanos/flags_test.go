package thanos_test

import (
	"fmt"
	"slices"
	"strings"
)

// flagsVersion is the Thanos release thanosFlags was read from.
const flagsVersion = "v0.42.4"

// Flags every subcommand registers: cmd/thanos/main.go (log.level,
// log.format, debug.name) and pkg/extkingpin/flags.go
// RegisterCommonTracingFlags (tracing.config[-file], through
// efficientgo/tools/extkingpin RegisterPathOrContent, which registers
// NAME and NAME-file).
var globalFlags = []string{"log.level", "log.format", "debug.name", "tracing.config", "tracing.config-file"}

// Flag groups of cmd/thanos/config.go and pkg/extkingpin/flags.go, v0.42.4.
var (
	httpFlags = []string{"http-address", "http-grace-period"} // httpConfig.registerFlag
	// extkingpin.RegisterHTTPFlags adds http.config.
	httpTLSFlags = []string{"http-address", "http-grace-period", "http.config"}
	grpcFlags    = []string{"grpc-address", "grpc-server-tls-cert", "grpc-server-tls-key", "grpc-server-tls-client-ca", "grpc-server-tls-min-version",
		"grpc-server-tls-ciphers", "grpc-server-tls-curves", "grpc-server-max-connection-age", "grpc-grace-period"} // grpcConfig.registerFlag
	objstoreFlags = []string{"objstore.config", "objstore.config-file"} // RegisterCommonObjStoreFlags(cmd, "", …)
)

// thanosFlags are the flags of each subcommand Vigil runs, read from
// thanos-io/thanos v0.42.4: cmd/thanos/store.go (storeConfig.registerFlag),
// cmd/thanos/compact.go (compactConfig.registerFlag) and
// cmd/thanos/query.go (registerQuery), each with the groups above it
// registers. Only what Vigil might set is listed in full for query.
var thanosFlags = map[string][]string{
	"store": concat(globalFlags, httpFlags, grpcFlags, objstoreFlags, []string{
		"data-dir", "index-cache-size", "chunk-pool-size", "block-sync-concurrency", "block-meta-fetch-concurrency",
		"consistency-delay", "ignore-deletion-marks-delay", "min-time", "max-time", "sync-block-duration",
		"store.grpc.series-sample-limit", "store.grpc.touched-series-limit", "store.grpc.series-max-concurrency",
		"store.enable-index-header-lazy-reader", "web.disable", "web.external-prefix", "web.prefix-header", "web.disable-cors",
		"disable-admin-operations", "cache-index-header",
	}),
	"compact": concat(globalFlags, httpFlags, objstoreFlags, []string{
		"data-dir", "wait", "wait-interval", "retention.resolution-raw", "retention.resolution-5m", "retention.resolution-1h",
		"downsampling.disable", "downsample.concurrency", "deduplication.replica-label", "deduplication.func",
		"compact.concurrency", "compact.cleanup-interval", "compact.enable-vertical-compaction", "delete-delay",
		"consistency-delay", "block-sync-concurrency", "block-meta-fetch-concurrency", "debug.halt-on-error",
		"min-time", "max-time", "web.disable", "disable-admin-operations", "hash-func",
	}),
	"query": concat(globalFlags, httpTLSFlags, grpcFlags, []string{
		"query.replica-label", "query.auto-downsampling", "query.timeout", "query.max-concurrent", "query.lookback-delta",
		"query.partial-response", "query.promql-engine", "query.mode", "deduplication.func",
		"endpoint", "endpoint-strict", "endpoint-group", "endpoint.sd-config", "endpoint.sd-config-file",
		"endpoint.sd-config-reload-interval", "store.response-timeout", "store.sd-dns-interval", "store.unhealthy-timeout",
		"web.route-prefix", "web.external-prefix", "web.prefix-header", "web.disable-cors", "selector-label",
	}),
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// checkFlags checks a Thanos container's arguments: a subcommand of the
// table, then --flag or --flag=value of that subcommand only.
func checkFlags(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no subcommand")
	}
	known, ok := thanosFlags[args[0]]
	if !ok {
		return fmt.Errorf("subcommand %q is not one Vigil runs", args[0])
	}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "--") {
			return fmt.Errorf("argument %q is not a --flag", a)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !slices.Contains(known, name) {
			return fmt.Errorf("thanos %s %s has no flag --%s", flagsVersion, args[0], name)
		}
	}
	return nil
}
