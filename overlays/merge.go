package overlays

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadTree reads the tree Write put into dir: the files its manifest
// lists, nothing else (files someone else added stay out).
func ReadTree(dir string) (*Tree, error) {
	m, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: no %s; give directories gen render wrote", dir, ErrNotOwned, ManifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", dir, err)
	}
	paths, err := parseManifest(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	t := &Tree{files: make(map[string][]byte, len(paths))}
	for _, p := range paths {
		name := filepath.Join(dir, filepath.FromSlash(p))
		fi, err := os.Lstat(name)
		if err != nil {
			return nil, fmt.Errorf("read tree %s: %w", dir, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("read tree %s: %s is not a regular file", dir, p)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read tree %s: %w", dir, err)
		}
		t.files[p] = b
	}
	return t, nil
}

// MergeShards combines the trees of shards of one render (gen render
// --shard K/N) into the tree a single render of all their environments
// gives. Every shard carries the same bases, and no two shards may hold
// the same environment file: either means the shards come from different
// Vigil versions or overlapping renders, and the merge is refused.
func MergeShards(names []string, shards []*Tree) (*Tree, error) {
	if len(shards) == 0 {
		return nil, errors.New("merge: no shard given")
	}
	out := &Tree{files: map[string][]byte{}}
	from := map[string]string{}
	for i, s := range shards {
		for _, p := range s.Paths() {
			b := s.files[p]
			prev, seen := out.files[p]
			switch {
			case !seen:
				out.files[p], from[p] = b, names[i]
			case !IsBasePath(p):
				return nil, fmt.Errorf("merge: %s is in shards %s and %s; shards of one render hold each environment once (were they rendered with the same --shard N and sources?)", p, from[p], names[i])
			case !bytes.Equal(prev, b):
				return nil, fmt.Errorf("merge: base file %s differs between shards %s and %s; render every shard with the same gen version", p, from[p], names[i])
			}
		}
	}
	// A base file one shard lacks would make the merged tree depend on
	// which shards carried it.
	for i, s := range shards {
		for p := range out.files {
			if _, ok := s.files[p]; IsBasePath(p) && !ok {
				return nil, fmt.Errorf("merge: shard %s lacks base file %s that shard %s has; render every shard with the same gen version", names[i], p, from[p])
			}
		}
	}
	if err := out.checkPaths(); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}
