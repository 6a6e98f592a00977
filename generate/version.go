package generate

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"sync"

	"github.com/vigil-stack/vigil/schema"
)

// binaryID identifies the code that renders: what a cache entry made by
// one Vigil binary may be reused by. It hashes the Go build ID of the
// running executable (a hash of every input of its build, so any change to
// Vigil's code, its dependencies or the Go version changes it), the module
// build information and the embedded schema. Where there is no ELF build ID
// (macOS, Windows) the executable's content is hashed instead. nil means
// the binary cannot be identified, and the cache is not used.
var binaryID = sync.OnceValue(func() []byte {
	h := sha256.New()
	h.Write([]byte("vigil render cache v1\n"))
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Write([]byte(bi.String()))
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	if id := goBuildID(exe); id != nil {
		h.Write(id)
	} else {
		f, err := os.Open(exe)
		if err != nil {
			return nil
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return nil
		}
	}
	files, err := schema.Files()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h.Write([]byte(n + "\n"))
		h.Write(files[n])
	}
	return h.Sum(nil)
})

// goBuildID reads the Go build ID note the linker puts into ELF binaries
// (section .note.go.buildid, note name "Go", type 4), or nil.
func goBuildID(exe string) []byte {
	f, err := elf.Open(exe)
	if err != nil {
		return nil
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return nil
	}
	b, err := s.Data()
	if err != nil || len(b) < 16 {
		return nil
	}
	order := f.ByteOrder
	namesz, descsz, typ := order.Uint32(b), order.Uint32(b[4:]), order.Uint32(b[8:])
	nameEnd := 12 + int((namesz+3)&^3)
	if typ != 4 || namesz != 4 || !bytes.Equal(b[12:15], []byte("Go\x00")) || nameEnd+int(descsz) > len(b) {
		return nil
	}
	return bytes.Clone(b[nameEnd : nameEnd+int(descsz)])
}
