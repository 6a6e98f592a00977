// Command gitserver serves, on loopback only, what the e2e test's Flux
// controllers would otherwise fetch from the internet: smart-HTTP git
// repositories (git http-backend behind net/http/cgi, push allowed so the
// test can commit renders) under /git/, and plain files (a Helm repository
// index and chart archives) under /files/.
//
// It is test tooling, built by e2e/build.sh into the e2e cache, and is not
// part of Vigil.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:26080", "listen address (keep it on loopback)")
	gitRoot := flag.String("git-root", "", "directory holding bare repositories")
	files := flag.String("files", "", "directory served under /files/")
	flag.Parse()
	if *gitRoot == "" || *files == "" {
		log.Fatal("gitserver: -git-root and -files are required")
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		log.Fatalf("gitserver: locating git http-backend: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Root: "/git",
		// REMOTE_USER lets http-backend accept pushes (receive-pack).
		Env: []string{"GIT_PROJECT_ROOT=" + *gitRoot, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=vigil-e2e"},
	}
	mux := http.NewServeMux()
	mux.Handle("/git/", backend)
	mux.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(*files))))
	log.Printf("gitserver: %s (git %s, files %s)", *addr, *gitRoot, *files)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
