package overlays

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/vigil-stack/vigil/generate/stack"
)

// objKey identifies an object inside one kustomize build. The version is part
// of it because kustomize's resource ids include it: a patch written for
// apps/v1 never applies to an apps/v1beta2 object.
type objKey struct {
	Group, Version, Kind, Namespace, Name string
}

// clusterKey identifies an object in a cluster: two versions of one kind are
// the same object there, so a Set must not hold both.
type clusterKey struct {
	Group, Kind, Namespace, Name string
}

func (k objKey) cluster() clusterKey {
	return clusterKey{Group: k.Group, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
}

func (k objKey) apiVersion() string {
	return schema.GroupVersion{Group: k.Group, Version: k.Version}.String()
}

// String names the object for error messages: "StatefulSet monitoring/prometheus".
func (k objKey) String() string {
	kind := k.Kind
	if k.Group != "" {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + " " + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

func (k objKey) less(o objKey) bool {
	switch {
	case k.Group != o.Group:
		return k.Group < o.Group
	case k.Kind != o.Kind:
		return k.Kind < o.Kind
	case k.Namespace != o.Namespace:
		return k.Namespace < o.Namespace
	case k.Name != o.Name:
		return k.Name < o.Name
	}
	return k.Version < o.Version
}

// object is one generated object in the comparable form the compiler works
// on: the JSON of the typed value decoded into maps, with numbers kept as
// json.Number so that nothing is rounded on the way to YAML.
type object struct {
	component string
	layer     stack.Layer
	key       objKey
	m         map[string]any
}

// newObject converts a typed object. It never modifies o.
func newObject(r stack.Resource) (*object, error) {
	if r.Object == nil {
		return nil, fmt.Errorf("component %q layer %s: nil object", r.Component, r.Layer)
	}
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	key := objKey{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: r.Object.GetNamespace(), Name: r.Object.GetName()}
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("component %q layer %s: %T %q has no apiVersion/kind (objects must be added with stack.Set.Add)", r.Component, r.Layer, r.Object, key.Name)
	}
	if key.Name == "" {
		return nil, fmt.Errorf("component %q layer %s: %s without a name", r.Component, r.Layer, key.Kind)
	}
	raw, err := json.Marshal(r.Object)
	if err != nil {
		return nil, fmt.Errorf("component %q: encoding %s: %w", r.Component, key, err)
	}
	m, err := decodeJSONMap(raw)
	if err != nil {
		return nil, fmt.Errorf("component %q: decoding %s: %w", r.Component, key, err)
	}
	normalize(m)
	return &object{component: r.Component, layer: r.Layer, key: key, m: m}, nil
}

func decodeJSONMap(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// normalize strips what a typed Go value emits but nobody wrote: status (the
// cluster's business, never applied), null fields (creationTimestamp: null
// and friends, which mean "unset" to the API server) and the empty status of
// embedded objects such as PVC templates.
func normalize(m map[string]any) {
	delete(m, "status")
	dropNulls(m)
}

func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
		if _, isObject := v["metadata"].(map[string]any); isObject {
			if s, ok := v["status"].(map[string]any); ok && len(s) == 0 {
				delete(v, "status")
			}
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// equalJSON compares decoded JSON values; numbers compare by value so that
// "1.0" from one encoder equals "1" from another.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, e := range a {
			f, ok := b[k]
			if !ok || !equalJSON(e, f) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && equalNumbers(a, b)
	}
	return a == b
}

func equalNumbers(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, _, errA := big.ParseFloat(string(a), 10, 256, big.ToNearestEven)
	y, _, errB := big.ParseFloat(string(b), 10, 256, big.ToNearestEven)
	return errA == nil && errB == nil && x.Cmp(y) == 0
}

// canonical is a stable string form of a decoded JSON value, used to compare
// list elements quickly. encoding/json sorts map keys.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Decoded JSON always re-encodes; keep going with a value that
		// compares unequal to everything else.
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// toYAML writes a value with encodeYAML: keys sorted, and every string
// that a YAML 1.1 or 1.2 reader could take for something else quoted
// (sigs.k8s.io/yaml writes "matchType: =" plain, and PyYAML refuses it).
// Objects, patches and JSON patch operations are decoded JSON already and
// are written as they are; a typed value (a Kustomization) is marshalled
// through JSON first, so field names and omitempty are the API's. The
// round trip was a fifth of the CPU of compiling an environment's overlays.
func toYAML(v any) ([]byte, error) {
	switch v.(type) {
	case map[string]any, []any:
		return encodeYAML(v)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return encodeYAML(x)
}

// objectYAML renders a normalized object.
func objectYAML(o *object) ([]byte, error) {
	b, err := toYAML(o.m)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", o.key, err)
	}
	return b, nil
}

// decodeResource turns a kustomize resource into the comparable form. It
// decodes the YAML node tree directly (what RNode.Map does) rather than
// through RNode.MarshalJSON, which prints and re-parses the YAML, and
// turns the decoder's numbers into json.Number.
func decodeResource(res *resource.Resource) (map[string]any, error) {
	raw, err := res.Map()
	if err != nil {
		return nil, err
	}
	v, err := jsonNumbers(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", res.GetKind(), res.GetName(), err)
	}
	m := v.(map[string]any)
	normalize(m)
	return m, nil
}

func jsonNumbers(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			c, err := jsonNumbers(e)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case []any:
		for i, e := range v {
			c, err := jsonNumbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("number %v has no JSON form", v)
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case string, bool, nil:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %T value %v in kustomize output", v, v)
}

// keyOf reads the identity of a decoded object.
func keyOf(m map[string]any) objKey {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	gv, _ := schema.ParseGroupVersion(apiVersion)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	return objKey{Group: gv.Group, Version: gv.Version, Kind: kind, Namespace: ns, Name: name}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// validName checks names that become directory names and parts of Flux
// object names.
func validName(what, s string) error {
	if len(s) > 63 || !dnsLabel.MatchString(s) {
		return fmt.Errorf("%s %q must be a DNS label (lowercase letters, digits and '-', at most 63 characters)", what, s)
	}
	return nil
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func nameCandidates(k objKey) []string {
	kind := sanitize(k.Kind)
	name := sanitize(k.Name)
	c := []string{kind + "-" + name}
	if k.Namespace != "" {
		c = append(c, kind+"-"+sanitize(k.Namespace)+"-"+name)
	}
	g := kind
	if k.Group != "" {
		g = kind + "." + sanitize(k.Group)
	}
	c = append(c, g+"-"+sanitize(k.Version)+"-"+sanitize(k.Namespace)+"-"+name)
	return c
}

// fileNames gives each object of one directory a readable, stable file name:
// "<kind>-<name>.yaml", with the namespace, then group and version, added
// only for objects whose shorter name another object of the directory
// shares. The result depends only on the set of keys, never on their order.
func fileNames(keys []objKey) map[objKey]string {
	sorted := append([]objKey(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].less(sorted[j]) })
	cands := make([][]string, len(sorted))
	level := make([]int, len(sorted))
	for i, k := range sorted {
		cands[i] = nameCandidates(k)
	}
	// Objects sharing a name all move to their next, longer candidate
	// until no name is shared or nobody can move.
	for {
		users := map[string][]int{}
		for i := range sorted {
			n := cands[i][level[i]]
			users[n] = append(users[n], i)
		}
		moved := false
		for _, idx := range users {
			if len(idx) < 2 {
				continue
			}
			for _, i := range idx {
				if level[i]+1 < len(cands[i]) {
					level[i]++
					moved = true
				}
			}
		}
		if !moved {
			break
		}
	}
	out := make(map[objKey]string, len(sorted))
	taken := map[string]bool{}
	for i, k := range sorted {
		base := cands[i][level[i]]
		n := base
		// Only pathological names (differing in characters sanitize
		// folds) get here; number them in key order.
		for j := 2; taken[n]; j++ {
			n = base + "-" + strconv.Itoa(j)
		}
		taken[n] = true
		out[k] = n + ".yaml"
	}
	return out
}
