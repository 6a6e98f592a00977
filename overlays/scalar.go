package overlays

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	yaml3 "go.yaml.in/yaml/v3"
)

// yaml11Ambiguous matches the plain scalars that a YAML 1.1 reader (PyYAML,
// Ruby's Psych, yaml.v2 and so sigs.k8s.io/yaml, kubectl) or a YAML 1.2 one
// would not read as a string: the implicit resolvers of YAML 1.1 (bool with
// yes/no/on/off, base 2/8/16/60 ints with underscores, floats, null,
// timestamps, merge "<<" and value "=") and of the 1.2 core schema. Such a
// string is written double-quoted, so every reader reads the same string.
var yaml11Ambiguous = regexp.MustCompile(`^(?:` + // one alternative per YAML 1.1 resolver
	`y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF` +
	`|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
	`|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
	`|~|null|Null|NULL|` +
	`|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?` +
	`|<<|=` +
	// YAML 1.2 core schema forms 1.1 lacks.
	`|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+` +
	`)$`)

// yamlNode builds the YAML node of a decoded JSON value (json.Number for
// numbers), keys sorted, choosing each string's style so that it reads back
// as the same string everywhere.
func yamlNode(v any) (*yaml3.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml3.Node{Kind: yaml3.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val, err := yamlNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, stringNode(k), val)
		}
		return n, nil
	case []any:
		n := &yaml3.Node{Kind: yaml3.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			val, err := yamlNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	case string:
		return stringNode(v), nil
	case json.Number:
		tag := "!!int"
		if bytes.ContainsAny([]byte(v), ".eE") {
			tag = "!!float"
		}
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: tag, Value: string(v)}, nil
	case bool:
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	case nil:
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("cannot write %T as YAML", v)
}

// jsonNumber is the number syntax of JSON (RFC 8259), the only one
// encodeYAML writes.
var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$`)

// decodeYAMLObject reads back one object that encodeYAML wrote: the inverse
// of yamlNode, numbers as json.Number with the text they were written with.
// Anything encodeYAML does not write (aliases, tags other than the core
// schema's, several documents) is refused rather than guessed at.
func decodeYAMLObject(b []byte) (map[string]any, error) {
	var doc yaml3.Node
	if err := yaml3.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml3.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not one YAML document")
	}
	v, err := jsonValue(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	return m, nil
}

func jsonValue(n *yaml3.Node) (any, error) {
	switch n.Kind {
	case yaml3.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml3.ScalarNode || k.ShortTag() != "!!str" {
				return nil, fmt.Errorf("line %d: a key that is not a string", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q given twice", k.Line, k.Value)
			}
			v, err := jsonValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml3.SequenceNode:
		l := make([]any, len(n.Content))
		for i, e := range n.Content {
			v, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml3.ScalarNode:
		switch tag := n.ShortTag(); {
		case tag == "!!str":
			return n.Value, nil
		case (tag == "!!int" || tag == "!!float") && jsonNumber.MatchString(n.Value):
			return json.Number(n.Value), nil
		case tag == "!!bool" && (n.Value == "true" || n.Value == "false"):
			return n.Value == "true", nil
		case tag == "!!null" && n.Value == "null":
			return nil, nil
		}
	}
	return nil, fmt.Errorf("line %d: %s is not what encodeYAML writes", n.Line, n.ShortTag())
}

func stringNode(s string) *yaml3.Node {
	n := &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case bytes.ContainsRune([]byte(s), '\n'):
		n.Style = yaml3.LiteralStyle
	case yaml11Ambiguous.MatchString(s):
		n.Style = yaml3.DoubleQuotedStyle
	}
	return n
}

// encodeYAML writes a decoded JSON value as one YAML document in the
// layout kubectl and kustomize use: two-space indent, list items at their
// key's indentation.
func encodeYAML(v any) ([]byte, error) {
	n, err := yamlNode(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml3.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
