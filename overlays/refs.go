package overlays

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// target is what a reference points at: an object, or one of the pseudo
// kinds below that stand for "whatever serves this API group".
type target struct {
	Group, Kind, Namespace, Name string
}

// Pseudo kinds: a custom resource needs the CRDs of its group, and some need
// the operator of the group running (see operated) or its admission webhook.
const (
	kindCRDs     = "(CRDs of group)"
	kindOperator = "(operator of group)"
	kindWebhook  = "(admission webhook of group)"
)

func (t target) String() string {
	switch t.Kind {
	case kindCRDs:
		return "the CRDs of " + t.Name
	case kindOperator:
		return "the operator of " + t.Name
	case kindWebhook:
		return "the admission webhook of " + t.Name
	}
	return objKey{Group: t.Group, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name}.String()
}

func targetOf(k objKey) target {
	return target{Group: k.Group, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
}

// reference is one thing an object needs before it can be applied or can
// become ready: the reason behind every dependsOn edge.
type reference struct {
	from objKey
	// field is where from names it, e.g.
	// "spec.template.spec.containers[app].env[PASSWORD].valueFrom.secretKeyRef".
	field string
	to    target
	// key is the Secret or ConfigMap key named, if any.
	key string
}

func (r reference) String() string {
	s := r.from.String() + " " + r.field + " -> " + r.to.String()
	if r.key != "" {
		s += " key " + r.key
	}
	return s
}

// operated are the custom resource kinds an operator turns into workloads
// and reports the readiness of: their unit's health checks can only pass
// once the operator runs, so their unit waits for the operator's. Kinds that
// are configuration an operator reads whenever it runs (rules, monitors,
// scrape and routing configs) are not here: waiting for the operator would
// make every rule wait for it for nothing.
var operated = map[string]bool{
	"monitoring.coreos.com/Prometheus":               true,
	"monitoring.coreos.com/Alertmanager":             true,
	"monitoring.coreos.com/ThanosRuler":              true,
	"elasticsearch.k8s.elastic.co/Elasticsearch":     true,
	"kibana.k8s.elastic.co/Kibana":                   true,
	"sparkoperator.k8s.io/SparkApplication":          true,
	"sparkoperator.k8s.io/ScheduledSparkApplication": true,
}

// references lists what an object needs to exist first. Only structured
// fields that the API server, the kubelet or an operator resolve when the
// object is created count. Names found by label selectors or inside
// configuration text (a ServiceMonitor's selector, Fluent Bit's output host,
// Prometheus' Alertmanager endpoints) are discovered again and again at run
// time and never make one unit wait for another: waiting for them would
// couple failures the run time copes with.
func references(o *object) []reference {
	var refs []reference
	add := func(field string, t target, key string) {
		refs = append(refs, reference{from: o.key, field: field, to: t, key: key})
	}
	ns := o.key.Namespace
	if ns != "" {
		add("metadata.namespace", target{Kind: "Namespace", Name: ns}, "")
	}
	if isCustomResource(o.key) {
		add("apiVersion", target{Kind: kindCRDs, Name: o.key.Group}, "")
		add("apiVersion", target{Kind: kindWebhook, Name: o.key.Group}, "")
		if operated[o.key.Group+"/"+o.key.Kind] {
			add("kind", target{Kind: kindOperator, Name: o.key.Group}, "")
		}
	}
	gk := o.key.Group + "/" + o.key.Kind
	switch gk {
	case "storage.k8s.io/StorageClass":
		// In-tree provisioners (kubernetes.io/…) have no CSIDriver object.
		if p, _ := o.m["provisioner"].(string); p != "" && !strings.HasPrefix(p, "kubernetes.io/") {
			add("provisioner", target{Group: "storage.k8s.io", Kind: "CSIDriver", Name: p}, "")
		}
	case "networking.k8s.io/Ingress":
		spec, _ := o.m["spec"].(map[string]any)
		if c, _ := spec["ingressClassName"].(string); c != "" {
			add("spec.ingressClassName", target{Group: "networking.k8s.io", Kind: "IngressClass", Name: c}, "")
		}
	}
	monitoring := o.key.Group == "monitoring.coreos.com"
	walk(o.m, "", "", func(field, name string, m map[string]any) {
		str := func(k string) string { s, _ := m[k].(string); return s }
		switch {
		case name == "secretKeyRef" && str("name") != "":
			add(field, target{Kind: "Secret", Namespace: ns, Name: str("name")}, str("key"))
		case name == "configMapKeyRef" && str("name") != "":
			add(field, target{Kind: "ConfigMap", Namespace: ns, Name: str("name")}, str("key"))
		case (name == "secretRef" || name == "imagePullSecrets") && str("name") != "":
			add(field, target{Kind: "Secret", Namespace: ns, Name: str("name")}, "")
		case name == "configMapRef" && str("name") != "":
			add(field, target{Kind: "ConfigMap", Namespace: ns, Name: str("name")}, "")
		case str("secretName") != "":
			// Volumes, Ingress TLS, ECK secureSettings.
			add(field+".secretName", target{Kind: "Secret", Namespace: ns, Name: str("secretName")}, "")
		case name == "secret" && str("name") != "":
			add(field, target{Kind: "Secret", Namespace: ns, Name: str("name")}, str("key"))
		case name == "configMap" && str("name") != "":
			add(field, target{Kind: "ConfigMap", Namespace: ns, Name: str("name")}, str("key"))
		case monitoring && isKeySelector(m):
			// The operator's SecretKeySelectors (Slack URLs, bearer
			// tokens, basic auth) have no telling field name.
			add(field, target{Kind: "Secret", Namespace: ns, Name: str("name")}, str("key"))
		case name == "subjects" && str("kind") == "ServiceAccount" && str("name") != "":
			sns := str("namespace")
			if sns == "" {
				sns = ns
			}
			add(field, target{Kind: "ServiceAccount", Namespace: sns, Name: str("name")}, "")
		case name == "roleRef" && str("name") != "":
			t := target{Group: "rbac.authorization.k8s.io", Kind: str("kind"), Name: str("name")}
			if t.Kind == "Role" {
				t.Namespace = ns
			}
			add(field, t, "")
		case name == "service" && str("name") != "" && (gk == "networking.k8s.io/Ingress" || o.key.Group == "admissionregistration.k8s.io" || o.key.Group == "apiregistration.k8s.io"):
			sns := str("namespace")
			if sns == "" {
				sns = ns
			}
			add(field, target{Kind: "Service", Namespace: sns, Name: str("name")}, "")
		}
		if c := str("storageClassName"); c != "" {
			add(field+".storageClassName", target{Group: "storage.k8s.io", Kind: "StorageClass", Name: c}, "")
		}
		if sa := str("serviceAccountName"); sa != "" && ns != "" {
			add(field+".serviceAccountName", target{Kind: "ServiceAccount", Namespace: ns, Name: sa}, "")
		}
	})
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	out := refs[:0]
	for i, r := range refs {
		if i == 0 || r != refs[i-1] {
			out = append(out, r)
		}
	}
	return out
}

// isKeySelector recognises {name, key[, optional]}.
func isKeySelector(m map[string]any) bool {
	n, _ := m["name"].(string)
	k, _ := m["key"].(string)
	if n == "" || k == "" {
		return false
	}
	for f := range m {
		if f != "name" && f != "key" && f != "optional" {
			return false
		}
	}
	return true
}

// walk calls visit on every map inside v with its field path and the name
// of the field holding it (for a list element, the list's field). List
// elements are named by their name field when they have one, so a path
// survives reordering: containers[app].env[PASSWORD].
func walk(v any, field, name string, visit func(field, name string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if field != "" {
			visit(field, name, x)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if field != "" {
				p = field + "." + k
			}
			walk(x[k], p, k, visit)
		}
	case []any:
		for i, e := range x {
			idx := strconv.Itoa(i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["name"].(string); ok && n != "" {
					idx = n
				}
			}
			walk(e, fmt.Sprintf("%s[%s]", field, idx), name, visit)
		}
	}
}
