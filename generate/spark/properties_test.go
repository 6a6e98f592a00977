package spark_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil/generate/spark"
)

// loadProperties reads text as java.util.Properties.load(Reader) does:
// logical lines with backslash continuations, comments, the first unescaped
// '=', ':' or whitespace ending the key, and escapes.
func loadProperties(t testing.TB, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		// Split at the first unescaped separator.
		end, escaped := len(line), false
		for j := 0; j < len(line); j++ {
			c := line[j]
			if escaped {
				escaped = false
				continue
			}
			if c == '\\' {
				escaped = true
				continue
			}
			if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
				end = j
				break
			}
		}
		key, rest := line[:end], line[end:]
		rest = strings.TrimLeft(rest, " \t\f")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = strings.TrimLeft(rest[1:], " \t\f")
		}
		out[unescape(t, key)] = unescape(t, rest)
	}
	return out
}

// continues reports whether a line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func unescape(t testing.TB, s string) string {
	t.Helper()
	var units []uint16
	var b strings.Builder
	flush := func() {
		if len(units) > 0 {
			b.WriteString(string(utf16Decode(units)))
			units = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			flush()
			b.WriteByte('\t')
		case 'n':
			flush()
			b.WriteByte('\n')
		case 'r':
			flush()
			b.WriteByte('\r')
		case 'f':
			flush()
			b.WriteByte('\f')
		case 'u':
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				t.Fatalf("bad \\u escape in %q", s)
			}
			units = append(units, uint16(v))
			i += 4
		default:
			flush()
			b.WriteByte(s[i])
		}
	}
	flush()
	return b.String()
}

func utf16Decode(units []uint16) []rune {
	var out []rune
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if u >= 0xd800 && u < 0xdc00 && i+1 < len(units) {
			out = append(out, 0x10000+(u-0xd800)<<10+(rune(units[i+1])-0xdc00))
			i++
			continue
		}
		out = append(out, u)
	}
	return out
}

func TestPropertiesRoundTrip(t *testing.T) {
	t.Parallel()
	p := spark.Properties{
		"spark.eventLog.dir":                                "s3a://spark-history/prod/spark-events/",
		"spark.hadoop.fs.s3a.endpoint":                      "https://10.20.2.20:443",
		"spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
		"key with spaces":                                   "value with spaces",
		"key=with:separators#and!comments":                  "a=b:c#d!e",
		" leading":                                          "  two leading spaces",
		"back\\slash":                                       `C:\path\`,
		"multi":                                             "line one\nline two\r\ttabbed\f",
		"unicode.é":                                         "naïve – 日本 😀",
		"empty":                                             "",
		"#starts-like-a-comment":                            "!also",
		"spark.kubernetes.driver.secretKeyRef.AWS_ACCESS_KEY_ID": "spark-s3:access-key-id",
		"ingress": "{{$appName}}.spark.example.com",
	}
	text := p.Encode()
	got := loadProperties(t, text)
	if d := cmp.Diff(map[string]string(p), got); d != "" {
		t.Errorf("round trip (-want +got):\n%s\nencoded:\n%s", d, text)
	}
	if text != p.Encode() {
		t.Error("Encode is not deterministic")
	}
	// Sorted keys, one line each, and readable URLs.
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != len(p) {
		t.Errorf("%d lines for %d properties:\n%s", len(lines), len(p), text)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i-1] > lines[i] {
			t.Errorf("lines out of order: %q before %q", lines[i-1], lines[i])
		}
	}
	if !strings.Contains(text, "spark.eventLog.dir=s3a://spark-history/prod/spark-events/\n") {
		t.Errorf("URL value escaped needlessly:\n%s", text)
	}
	for _, line := range lines {
		for _, r := range line {
			if r > 0x7e {
				t.Errorf("non-ASCII left unescaped in %q", line)
			}
		}
	}
}

func ExampleProperties_Encode() {
	fmt.Print(spark.Properties{
		"spark.eventLog.enabled": "true",
		"spark.eventLog.dir":     "s3a://spark-history/spark-events/",
	}.Encode())
	// Output:
	// spark.eventLog.dir=s3a://spark-history/spark-events/
	// spark.eventLog.enabled=true
}
