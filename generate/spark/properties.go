package spark

import (
	"fmt"
	"sort"
	"strings"
)

// Properties is the content of a spark-defaults.conf: Spark reads it with
// java.util.Properties.load, so Encode writes that format. Keys are written
// in sorted order, so the same settings always give the same bytes (and the
// same checksum annotation on the pods that mount them).
type Properties map[string]string

// Encode writes the properties as key=value lines in java.util.Properties
// syntax. Keys are fully escaped (separators, comment starts, whitespace,
// backslashes); values only as much as Properties.load needs to read them
// back unchanged, so that URLs stay readable ("s3a://bucket/prefix/"): a
// separator or comment character after the first separator is literal.
// Non-ASCII runes become \uXXXX escapes, which load reads whatever charset
// the file is opened with.
func (p Properties) Encode() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(escapeProperty(k, true))
		b.WriteByte('=')
		b.WriteString(escapeProperty(p[k], false))
		b.WriteByte('\n')
	}
	return b.String()
}

// escapeProperty escapes one key or value the way Properties.load unescapes
// it (java.util.Properties.saveConvert, less the escapes a value does not
// need).
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case ' ':
			// load skips whitespace before a value and ends a key at
			// whitespace.
			if key || i == 0 {
				b.WriteString(`\ `)
			} else {
				b.WriteRune(r)
			}
		case '=', ':', '#', '!':
			// In a key they end it or start a comment; in a value they are
			// literal.
			if key {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			if r < 0x20 || r > 0x7e {
				writeUnicodeEscape(&b, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// writeUnicodeEscape writes r as \uXXXX, using a UTF-16 surrogate pair
// beyond the basic plane as Java does.
func writeUnicodeEscape(b *strings.Builder, r rune) {
	if r > 0xffff {
		r -= 0x10000
		fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}
