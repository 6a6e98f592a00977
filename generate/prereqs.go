package generate

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/storage"
	"github.com/vigil-stack/vigil/overlays"
)

// Prerequisites lists what an environment needs on the cluster and does not
// create: every Secret it references, by name with the keys it reads (the
// overlay compiler finds the namespaces from the objects that read them), and
// what its prerequisites section lists. CSI drivers and IngressClasses are
// added by the compiler from the objects that name them.
func Prerequisites(e *env.Environment) []overlays.Prerequisite {
	type use struct {
		keys, paths map[string]bool
	}
	secrets := map[string]*use{}
	walkSecretRefs(reflect.ValueOf(*e), "", func(path string, r env.SecretRef) {
		u := secrets[r.Secret]
		if u == nil {
			u = &use{keys: map[string]bool{}, paths: map[string]bool{}}
			secrets[r.Secret] = u
		}
		u.keys[r.Key] = true
		u.paths[path] = true
	})
	var out []overlays.Prerequisite
	for _, name := range env.SortedKeys(secrets) {
		u := secrets[name]
		p := overlays.Prerequisite{APIVersion: "v1", Kind: "Secret", Name: name, Keys: sortedKeys(u.keys), Source: strings.Join(sortedKeys(u.paths), ", ")}
		if name == storage.PureSecretName && u.paths["storage.pureSecret"] {
			// PX-CSI reads it in its own namespace for every volume on a
			// Pure backend; no object names it.
			p.Namespace = storage.PureSecretNamespace
			p.NeededBy = []string{storage.Component}
		}
		out = append(out, p)
	}
	if e.SparkJobsLogEvents() {
		// The Spark defaults make every driver and executor read the
		// event log credentials in its job namespace; no object Vigil
		// applies there names the Secret, so no unit waits, but the
		// gate reports it missing before the first job fails.
		c := e.Spark.HistoryServer.Credentials
		for _, ns := range e.Spark.Operator.JobNamespaces {
			for _, r := range []env.SecretRef{c.AccessKeyID, c.SecretAccessKey} {
				if r.Secret != "" {
					out = append(out, overlays.Prerequisite{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: r.Secret, Keys: []string{r.Key},
						Source: "spark.historyServer.credentials (Spark jobs in " + ns + ")"})
				}
			}
		}
	}
	pr := e.Prerequisites
	for _, ns := range env.SortedKeys(pr.Secrets) {
		for _, name := range env.SortedKeys(pr.Secrets[ns]) {
			s := pr.Secrets[ns][name]
			out = append(out, overlays.Prerequisite{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: name,
				Keys: s.Keys, NeededBy: s.NeededBy, Source: "prerequisites.secrets." + ns + "." + name})
		}
	}
	for _, name := range env.SortedKeys(pr.CSIDrivers) {
		out = append(out, overlays.Prerequisite{APIVersion: "storage.k8s.io/v1", Kind: "CSIDriver", Name: name,
			NeededBy: pr.CSIDrivers[name].NeededBy, Source: `prerequisites.csiDrivers."` + name + `"`})
	}
	for _, name := range env.SortedKeys(pr.IngressClasses) {
		out = append(out, overlays.Prerequisite{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass", Name: name,
			NeededBy: pr.IngressClasses[name].NeededBy, Source: "prerequisites.ingressClasses." + name})
	}
	return out
}

var secretRefType = reflect.TypeOf(env.SecretRef{})

// walkSecretRefs calls f for every SecretRef in v with its CUE path.
func walkSecretRefs(v reflect.Value, path string, f func(string, env.SecretRef)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSecretRefs(v.Elem(), path, f)
		}
	case reflect.Struct:
		if v.Type() == secretRefType {
			if r := v.Interface().(env.SecretRef); r.Secret != "" {
				f(path, r)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			name := strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
			if name == "" || name == "-" || !v.Type().Field(i).IsExported() {
				continue
			}
			walkSecretRefs(v.Field(i), join(path, name), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			label := k.String()
			if strings.ContainsAny(label, "-.") {
				label = `"` + label + `"`
			}
			walkSecretRefs(v.MapIndex(k), join(path, label), f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkSecretRefs(v.Index(i), path+"["+strconv.Itoa(i)+"]", f)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
