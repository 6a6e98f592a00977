// Package e2e proves Vigil's renders on a real kube-apiserver and real Flux
// controllers. Its tests carry the build tag e2e and need the binaries
// e2e/build.sh caches; run them with `make e2e` (see README, "End-to-end").
//
// Layout:
//
//	build.sh      builds kube-apiserver and the Flux controllers once, cached by version
//	upstream.sh   prepares the upstream CRDs and the ECK chart offline, cached by version
//	cluster.sh    starts and stops one loopback control plane (etcd, apiserver, git server, Flux)
//	run.sh        what `make e2e` runs: build, prepare, test, and always stop
//	gitserver/    the loopback git + file server Flux fetches from
//	*_test.go     the test itself
package e2e
