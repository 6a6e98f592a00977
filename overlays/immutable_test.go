package overlays

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Objects as the cluster receives them, one per kind of the table. The
// recreatable kinds carry the force annotation, as MarkReplaceable leaves
// them.
const (
	scJSON = `{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass",
		"metadata":{"name":"vigil-block","annotations":{"kustomize.toolkit.fluxcd.io/force":"enabled"}},
		"provisioner":"pxd.portworx.com","parameters":{"csi.storage.k8s.io/fstype":"xfs","repl":"2"},
		"reclaimPolicy":"Delete","volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`
	jobJSON = `{"apiVersion":"batch/v1","kind":"Job",
		"metadata":{"name":"bootstrap","namespace":"logging","annotations":{"kustomize.toolkit.fluxcd.io/force":"enabled"}},
		"spec":{"backoffLimit":6,"ttlSecondsAfterFinished":86400,"completions":1,"completionMode":"NonIndexed",
		"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"curl:8"}]}}}}`
	rbJSON = `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
		"metadata":{"name":"reader","namespace":"monitoring","annotations":{"kustomize.toolkit.fluxcd.io/force":"enabled"}},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},
		"subjects":[{"kind":"ServiceAccount","name":"prometheus","namespace":"monitoring"}]}`
	crbJSON = `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
		"metadata":{"name":"reader","annotations":{"kustomize.toolkit.fluxcd.io/force":"enabled"}},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"reader"},
		"subjects":[{"kind":"ServiceAccount","name":"prometheus","namespace":"monitoring"}]}`
	stsJSON = `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"tempo","namespace":"tracing"},
		"spec":{"replicas":1,"serviceName":"tempo","podManagementPolicy":"OrderedReady",
		"selector":{"matchLabels":{"app":"tempo"}},
		"template":{"metadata":{"labels":{"app":"tempo"}},"spec":{"containers":[{"name":"tempo","image":"tempo:3"}]}},
		"updateStrategy":{"type":"RollingUpdate"},
		"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],
		"storageClassName":"vigil-block","resources":{"requests":{"storage":"10Gi"}}}}]}}`
	pvcJSON = `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"grafana-storage","namespace":"monitoring"},
		"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"vigil-block","resources":{"requests":{"storage":"10Gi"}}}}`
	deployJSON = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"grafana","namespace":"monitoring"},
		"spec":{"replicas":1,"selector":{"matchLabels":{"app":"grafana"}},
		"template":{"metadata":{"labels":{"app":"grafana"}},"spec":{"containers":[{"name":"grafana","image":"grafana:13"}]}}}}`
	dsJSON = `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"fluent-bit","namespace":"logging"},
		"spec":{"selector":{"matchLabels":{"app":"fluent-bit"}},
		"template":{"metadata":{"labels":{"app":"fluent-bit"}},"spec":{"containers":[{"name":"fb","image":"fluent-bit:5"}]}}}}`
	svcJSON = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"tempo","namespace":"tracing"},
		"spec":{"clusterIP":"None","selector":{"app":"tempo"},"ports":[{"name":"http","port":3200}]}}`
	esJSON = `{"apiVersion":"elasticsearch.k8s.elastic.co/v1","kind":"Elasticsearch","metadata":{"name":"logs","namespace":"logging"},
		"spec":{"version":"9.4.3","nodeSets":[{"name":"data","count":3,"volumeClaimTemplates":[{"metadata":{"name":"elasticsearch-data"},
		"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"vigil-block","resources":{"requests":{"storage":"100Gi"}}}}]}]}}`
	cmJSON = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tempo","namespace":"tracing"},"data":{"tempo.yaml":"a"}}`
	// noExpandJSON is a class the PVC cases move to: no volume expansion.
	noExpandJSON = `{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"vigil-file"},
		"provisioner":"pxd.portworx.com","allowVolumeExpansion":false}`
)

func mustObject(t *testing.T, js string) *object {
	t.Helper()
	m, err := decodeJSONMap([]byte(js))
	if err != nil {
		t.Fatalf("fixture: %v\n%s", err, js)
	}
	return &object{key: keyOf(m), m: m}
}

// set assigns a value at a path ("name[0]" enters a list), creating maps
// on the way; nil deletes. A dotted path is split at its dots; keys that
// hold dots are given as separate parts.
func set(m map[string]any, v any, path ...string) {
	var parts []string
	if len(path) == 1 {
		parts = strings.Split(path[0], ".")
	} else {
		parts = path
	}
	cur := m
	for _, k := range parts[:len(parts)-1] {
		if name, ok := strings.CutSuffix(k, "[0]"); ok {
			cur = cur[name].([]any)[0].(map[string]any)
			continue
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	last := parts[len(parts)-1]
	if v == nil {
		delete(cur, last)
		return
	}
	cur[last] = v
}

// TestClassifyPerKind changes each immutable field of each kind of the
// table (and mutable ones next to them) and checks the verdict.
func TestClassifyPerKind(t *testing.T) {
	type edit struct {
		path []string
		v    any
	}
	cases := []struct {
		name   string
		base   string
		edits  []edit
		want   Action
		fields []string
	}{
		// StorageClass: recreated by Flux (it carries the annotation).
		{"storageclass parameters", scJSON, []edit{{[]string{"parameters", "csi.storage.k8s.io/fstype"}, "ext4"}}, ActionRecreate, []string{"parameters"}},
		{"storageclass parameter added", scJSON, []edit{{[]string{"parameters.max_iops"}, "1000"}}, ActionRecreate, []string{"parameters"}},
		{"storageclass provisioner", scJSON, []edit{{[]string{"provisioner"}, "ebs.csi.aws.com"}}, ActionRecreate, []string{"provisioner"}},
		{"storageclass reclaimPolicy", scJSON, []edit{{[]string{"reclaimPolicy"}, "Retain"}}, ActionRecreate, []string{"reclaimPolicy"}},
		{"storageclass volumeBindingMode", scJSON, []edit{{[]string{"volumeBindingMode"}, "Immediate"}}, ActionRecreate, []string{"volumeBindingMode"}},
		{"storageclass allowVolumeExpansion", scJSON, []edit{{[]string{"allowVolumeExpansion"}, false}}, ActionInPlace, nil},
		{"storageclass label", scJSON, []edit{{[]string{"metadata.labels.team"}, "data"}}, ActionInPlace, nil},
		{"storageclass without the annotation", scJSON, []edit{{[]string{"metadata.annotations"}, nil}, {[]string{"parameters.repl"}, "3"}}, ActionRefused, []string{"parameters"}},
		// Job: recreated, which runs it again.
		{"job template", jobJSON, []edit{{[]string{"spec.template.spec.restartPolicy"}, "OnFailure"}}, ActionRecreate, []string{"spec.template"}},
		{"job selector", jobJSON, []edit{{[]string{"spec.selector"}, map[string]any{"matchLabels": map[string]any{"a": "b"}}}}, ActionRecreate, []string{"spec.selector"}},
		{"job completions", jobJSON, []edit{{[]string{"spec.completions"}, 2}}, ActionRecreate, []string{"spec.completions"}},
		{"job completionMode", jobJSON, []edit{{[]string{"spec.completionMode"}, "Indexed"}}, ActionRecreate, []string{"spec.completionMode"}},
		{"job backoffLimit", jobJSON, []edit{{[]string{"spec.backoffLimit"}, 3}}, ActionInPlace, nil},
		{"job ttl", jobJSON, []edit{{[]string{"spec.ttlSecondsAfterFinished"}, 60}}, ActionInPlace, nil},
		// Bindings: recreated.
		{"rolebinding roleRef", rbJSON, []edit{{[]string{"roleRef.name"}, "writer"}}, ActionRecreate, []string{"roleRef"}},
		{"rolebinding subjects", rbJSON, []edit{{[]string{"subjects"}, []any{}}}, ActionInPlace, nil},
		{"clusterrolebinding roleRef", crbJSON, []edit{{[]string{"roleRef.name"}, "writer"}}, ActionRecreate, []string{"roleRef"}},
		{"clusterrolebinding subjects", crbJSON, []edit{{[]string{"subjects"}, []any{}}}, ActionInPlace, nil},
		// StatefulSet: refused, annotated or not.
		{"statefulset volumeClaimTemplates", stsJSON, []edit{{[]string{"spec.volumeClaimTemplates[0].spec.resources.requests.storage"}, "20Gi"}}, ActionRefused, []string{"spec.volumeClaimTemplates"}},
		{"statefulset selector", stsJSON, []edit{{[]string{"spec.selector.matchLabels.tier"}, "x"}}, ActionRefused, []string{"spec.selector"}},
		{"statefulset serviceName", stsJSON, []edit{{[]string{"spec.serviceName"}, "tempo-headless"}}, ActionRefused, []string{"spec.serviceName"}},
		{"statefulset podManagementPolicy", stsJSON, []edit{{[]string{"spec.podManagementPolicy"}, "Parallel"}}, ActionRefused, []string{"spec.podManagementPolicy"}},
		{"statefulset annotated", stsJSON, []edit{{[]string{"metadata.annotations"}, map[string]any{ForceAnnotation: "enabled"}}, {[]string{"spec.serviceName"}, "t"}}, ActionRefused, []string{"spec.serviceName"}},
		{"statefulset replicas", stsJSON, []edit{{[]string{"spec.replicas"}, 3}}, ActionInPlace, nil},
		{"statefulset template", stsJSON, []edit{{[]string{"spec.template.spec.containers"}, []any{}}}, ActionInPlace, nil},
		{"statefulset updateStrategy", stsJSON, []edit{{[]string{"spec.updateStrategy.type"}, "OnDelete"}}, ActionInPlace, nil},
		{"statefulset minReadySeconds", stsJSON, []edit{{[]string{"spec.minReadySeconds"}, 10}}, ActionInPlace, nil},
		// PersistentVolumeClaim: only growth on an expandable class.
		{"pvc grows", pvcJSON, []edit{{[]string{"spec.resources.requests.storage"}, "20Gi"}}, ActionInPlace, nil},
		{"pvc grows, same size spelled otherwise", pvcJSON, []edit{{[]string{"spec.resources.requests.storage"}, "10240Mi"}}, ActionInPlace, nil},
		{"pvc shrinks", pvcJSON, []edit{{[]string{"spec.resources.requests.storage"}, "5Gi"}}, ActionRefused, []string{"spec.resources.requests.storage"}},
		{"pvc grows on a class without expansion", pvcJSON, []edit{{[]string{"spec.storageClassName"}, "vigil-file"}, {[]string{"spec.resources.requests.storage"}, "20Gi"}}, ActionRefused, []string{"spec.storageClassName", "spec.resources.requests.storage"}},
		{"pvc storageClassName", pvcJSON, []edit{{[]string{"spec.storageClassName"}, "vigil-file"}}, ActionRefused, []string{"spec.storageClassName"}},
		{"pvc accessModes", pvcJSON, []edit{{[]string{"spec.accessModes"}, []any{"ReadWriteMany"}}}, ActionRefused, []string{"spec.accessModes"}},
		{"pvc volumeAttributesClassName", pvcJSON, []edit{{[]string{"spec.volumeAttributesClassName"}, "gold"}}, ActionInPlace, nil},
		{"pvc label", pvcJSON, []edit{{[]string{"metadata.labels.a"}, "b"}}, ActionInPlace, nil},
		// Deployment, DaemonSet, Service: refused, they serve traffic.
		{"deployment selector", deployJSON, []edit{{[]string{"spec.selector.matchLabels.tier"}, "x"}}, ActionRefused, []string{"spec.selector"}},
		{"deployment replicas", deployJSON, []edit{{[]string{"spec.replicas"}, 2}}, ActionInPlace, nil},
		{"daemonset selector", dsJSON, []edit{{[]string{"spec.selector.matchLabels.tier"}, "x"}}, ActionRefused, []string{"spec.selector"}},
		{"daemonset template", dsJSON, []edit{{[]string{"spec.template.metadata.labels.v"}, "2"}}, ActionInPlace, nil},
		{"service clusterIP", svcJSON, []edit{{[]string{"spec.clusterIP"}, nil}}, ActionRefused, []string{"spec.clusterIP"}},
		{"service ports", svcJSON, []edit{{[]string{"spec.ports"}, []any{}}}, ActionInPlace, nil},
		// Elasticsearch: ECK refuses what is not growth or labels.
		{"elasticsearch volume grows", esJSON, []edit{{[]string{"spec.nodeSets[0].volumeClaimTemplates[0].spec.resources.requests.storage"}, "200Gi"}}, ActionInPlace, nil},
		{"elasticsearch volume shrinks", esJSON, []edit{{[]string{"spec.nodeSets[0].volumeClaimTemplates[0].spec.resources.requests.storage"}, "50Gi"}}, ActionRefused,
			[]string{"spec.nodeSets[data].volumeClaimTemplates[elasticsearch-data].spec.resources.requests.storage"}},
		{"elasticsearch volume class", esJSON, []edit{{[]string{"spec.nodeSets[0].volumeClaimTemplates[0].spec.storageClassName"}, "vigil-file"}}, ActionRefused,
			[]string{"spec.nodeSets[data].volumeClaimTemplates[elasticsearch-data].spec.storageClassName"}},
		{"elasticsearch claim label", esJSON, []edit{{[]string{"spec.nodeSets[0].volumeClaimTemplates[0].metadata.labels.a"}, "b"}}, ActionInPlace, nil},
		{"elasticsearch claim added", esJSON, []edit{{[]string{"spec.nodeSets[0].volumeClaimTemplates"}, []any{
			map[string]any{"metadata": map[string]any{"name": "elasticsearch-data"}, "spec": map[string]any{"accessModes": []any{"ReadWriteOnce"},
				"storageClassName": "vigil-block", "resources": map[string]any{"requests": map[string]any{"storage": "100Gi"}}}},
			map[string]any{"metadata": map[string]any{"name": "snapshots"}},
		}}}, ActionRefused, []string{"spec.nodeSets[data].volumeClaimTemplates[snapshots]"}},
		{"elasticsearch nodeSet renamed", esJSON, []edit{{[]string{"spec.nodeSets[0].name"}, "data-v2"}, {[]string{"spec.nodeSets[0].volumeClaimTemplates[0].spec.storageClassName"}, "vigil-file"}}, ActionInPlace, nil},
		{"elasticsearch count", esJSON, []edit{{[]string{"spec.nodeSets[0].count"}, 5}}, ActionInPlace, nil},
		// A kind without immutable fields.
		{"configmap data", cmJSON, []edit{{[]string{"data", "tempo.yaml"}, "b"}}, ActionInPlace, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := mustObject(t, tc.base)
			n := &object{key: old.key, m: deepCopy(old.m).(map[string]any)}
			for _, e := range tc.edits {
				set(n.m, e.v, e.path...)
			}
			other := mustObject(t, noExpandJSON)
			c := &classifier{
				env: "prod",
				old: map[clusterKey]*object{old.key.cluster(): old, other.key.cluster(): other},
				new: map[clusterKey]*object{n.key.cluster(): n, other.key.cluster(): other},
			}
			got := c.classify()
			if len(got) != 1 {
				t.Fatalf("got %d changes, want 1: %v", len(got), got)
			}
			ch := got[0]
			var fields []string
			for _, f := range ch.Fields {
				fields = append(fields, f.Path)
			}
			if ch.Action != tc.want || !reflect.DeepEqual(fields, tc.fields) {
				t.Fatalf("got %s %v, want %s %v\n%s", ch.Action, fields, tc.want, tc.fields, ch)
			}
			switch ch.Action {
			case ActionRefused:
				if ch.Why == "" || !strings.Contains(ch.Migration, ch.Name) {
					t.Errorf("a refusal must say why and how to migrate, naming the object: %+v", ch)
				}
			case ActionRecreate:
				if ch.Why == "" || ch.Migration != "" {
					t.Errorf("a recreation says why it is safe and needs no migration: %+v", ch)
				}
			}
		})
	}
}

func TestClassifyDetail(t *testing.T) {
	old := mustObject(t, scJSON)
	n := &object{key: old.key, m: deepCopy(old.m).(map[string]any)}
	n.m["parameters"].(map[string]any)["csi.storage.k8s.io/fstype"] = "ext4"
	c := &classifier{env: "prod", old: map[clusterKey]*object{old.key.cluster(): old}, new: map[clusterKey]*object{n.key.cluster(): n}}
	got := c.classify()[0].String()
	want := `recreate  prod: StorageClass.storage.k8s.io vigil-block: parameters (csi.storage.k8s.io/fstype: "xfs" → "ext4")`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A value that looks secret never reaches the report.
func TestClassifyDetailHidesSecrets(t *testing.T) {
	old := mustObject(t, jobJSON)
	n := &object{key: old.key, m: deepCopy(old.m).(map[string]any)}
	c0 := n.m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c0["env"] = []any{map[string]any{"name": "TOKEN", "value": "hunter2-value"}}
	o0 := old.m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	o0["env"] = []any{map[string]any{"name": "TOKEN", "value": "s3cr3t-old"}}
	sc := mustObject(t, scJSON)
	nsc := &object{key: sc.key, m: deepCopy(sc.m).(map[string]any)}
	nsc.m["parameters"].(map[string]any)["csi.storage.k8s.io/provisioner-secret"] = "pasted-secret-value"
	c := &classifier{env: "prod",
		old: map[clusterKey]*object{old.key.cluster(): old, sc.key.cluster(): sc},
		new: map[clusterKey]*object{n.key.cluster(): n, nsc.key.cluster(): nsc}}
	var out []string
	for _, ch := range c.classify() {
		out = append(out, ch.String())
	}
	got := strings.Join(out, "\n")
	for _, leak := range []string{"hunter2", "s3cr3t", "pasted-secret-value"} {
		if strings.Contains(got, leak) {
			t.Errorf("report shows %q:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "env[0].value: changed") || !strings.Contains(got, "csi.storage.k8s.io/provisioner-secret: changed") {
		t.Errorf("report does not name the changed leaves:\n%s", got)
	}
}

func TestMarkReplaceable(t *testing.T) {
	s := &stack.Set{}
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "vigil-block", Annotations: map[string]string{"keep": "me"}}}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap", Namespace: "logging"}}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "monitoring"}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "tempo", Namespace: "tracing"}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "grafana-storage", Namespace: "monitoring"}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "grafana", Namespace: "monitoring"}}
	s.Add("storage", stack.Storage, sc)
	s.Add("x", stack.Instances, job, rb, crb, sts, pvc, dep)
	MarkReplaceable(s)
	for _, o := range []stack.Object{sc, job, rb, crb} {
		if o.GetAnnotations()[ForceAnnotation] != "enabled" {
			t.Errorf("%T %s not marked", o, o.GetName())
		}
	}
	if sc.Annotations["keep"] != "me" {
		t.Error("marking dropped an annotation")
	}
	for _, o := range []stack.Object{sts, pvc, dep} {
		if _, ok := o.GetAnnotations()[ForceAnnotation]; ok {
			t.Errorf("%T %s marked: Flux would delete its data or stop it", o, o.GetName())
		}
	}
}

// TestWriteRefusesImmutableChange goes from smallStack to prodStack, which
// grows the Prometheus StatefulSet's volume template: Write refuses and
// leaves the tree alone, Diff labels every object, and Migrated writes.
func TestWriteRefusesImmutableChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	mustWrite(t, treeOf(t, smallStack()), dir)
	before := snapshot(t, dir)
	v2 := treeOf(t, prodStack())

	_, err := Write(context.Background(), v2, dir)
	var imm *ImmutableError
	if !errors.As(err, &imm) || len(imm.Refused) != 1 || imm.Refused[0].Object() != "StatefulSet.apps monitoring/prometheus" {
		t.Fatalf("got %v, want the StatefulSet refused", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Fatal("a refused write changed the tree")
	}

	d, err := Diff(v2, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Objects {
		got = append(got, string(c.Action)+" "+c.Object())
	}
	want := []string{
		"in-place ConfigMap monitoring/alertmanager-routes",
		"added ConfigMap monitoring/prometheus-extra-scrape",
		"removed Service monitoring/prometheus-operator",
		"refused StatefulSet.apps monitoring/prometheus",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Refused()) != 1 {
		t.Errorf("refused: %v", d.Refused())
	}

	r, err := Write(context.Background(), v2, dir, Migrated())
	if err != nil || len(Refused(r.Objects)) != 1 || len(r.Changed) == 0 {
		t.Fatalf("migrated write: %v %+v", err, r)
	}
}

// An old kustomization that no longer builds is named, not fatal: its
// objects count as added.
func TestClassifyBrokenPrevious(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	tree := treeOf(t, smallStack())
	mustWrite(t, tree, dir)
	if err := os.WriteFile(filepath.Join(dir, "envs/prod/prometheus/instances/kustomization.yaml"), []byte("resources: [missing.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Diff(tree, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "envs/prod/prometheus/instances does not build") {
		t.Errorf("notes: %v", d.Notes)
	}
	for _, c := range d.Objects {
		if c.Action != ActionAdded {
			t.Errorf("%s", c)
		}
	}
	if len(d.Objects) == 0 {
		t.Error("the instances objects should count as added")
	}
}

// Only changed kustomizations are built, yet a claim that grows still finds
// its StorageClass in the storage layer, whose files did not change.
func TestClassifyReadsUnchangedDirectories(t *testing.T) {
	stackWithClaim := func(size string, expand bool) *stack.Set {
		s := smallStack()
		s.Add("storage", stack.Storage, &storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: "vigil-block"}, Provisioner: "pxd.portworx.com", AllowVolumeExpansion: &expand,
		})
		s.Add("grafana", stack.Instances, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "grafana-storage", Namespace: "monitoring"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr("vigil-block"),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			},
		})
		return s
	}
	compile := func(s *stack.Set) *Tree {
		tree, err := Compile(context.Background(), smallStack(), []Environment{{Name: "prod", Objects: s}})
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	for _, tc := range []struct {
		expand bool
		want   Action
	}{{true, ActionInPlace}, {false, ActionRefused}} {
		v1, v2 := compile(stackWithClaim("10Gi", tc.expand)), compile(stackWithClaim("20Gi", tc.expand))
		if changedDirs(v1.files, v2.files)["envs/prod/storage"] {
			t.Fatal("the storage layer should not change")
		}
		changes, notes, err := Classify(v1.files, v2)
		if err != nil || len(notes) > 0 {
			t.Fatal(err, notes)
		}
		if len(changes) != 1 || changes[0].Kind != "PersistentVolumeClaim" || changes[0].Action != tc.want {
			t.Errorf("expansion %v: got %v, want the claim %s", tc.expand, changes, tc.want)
		}
	}
}

// changedDirs marks exactly the directories above a changed, added or
// removed file, and nothing for identical trees.
func TestChangedDirs(t *testing.T) {
	a := map[string][]byte{
		"base/x/a.yaml":              []byte("1"),
		"envs/prod/grafana/i/k.yaml": []byte("1"),
		"envs/prod/grafana/i/p.yaml": []byte("1"),
		"envs/prod/spark/o/k.yaml":   []byte("1"),
		"envs/dev/spark/o/k.yaml":    []byte("1"),
		"top.yaml":                   []byte("1"),
	}
	if got := changedDirs(a, a); len(got) != 0 {
		t.Errorf("identical trees: %v", got)
	}
	b := map[string][]byte{}
	for p, v := range a {
		b[p] = v
	}
	b["envs/prod/grafana/i/p.yaml"] = []byte("2") // changed
	delete(b, "envs/dev/spark/o/k.yaml")          // removed
	b["envs/prod/tracing/c/k.yaml"] = []byte("1") // added
	b["top.yaml"] = []byte("2")                   // at the root: no directory
	want := map[string]bool{
		"envs": true, "envs/prod": true, "envs/prod/grafana": true, "envs/prod/grafana/i": true,
		"envs/dev": true, "envs/dev/spark": true, "envs/dev/spark/o": true,
		"envs/prod/tracing": true, "envs/prod/tracing/c": true,
	}
	if got := changedDirs(a, b); !maps.Equal(got, want) {
		t.Errorf("changedDirs = %v, want %v", got, want)
	}
}

// QuietAdditions leaves out the objects of an environment new to the
// directory (all added) and nothing else: a refused change to an
// environment already there is refused as without it, and its other
// changes are still listed.
func TestWriteQuietAdditions(t *testing.T) {
	v1 := treeOf(t, smallStack())
	fresh := filepath.Join(t.TempDir(), "fresh")
	r, err := Write(context.Background(), v1, fresh, QuietAdditions())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Objects) != 0 {
		t.Errorf("a new environment listed %d objects with QuietAdditions", len(r.Objects))
	}
	loud := mustWrite(t, v1, filepath.Join(t.TempDir(), "loud"))
	if len(loud.Objects) == 0 {
		t.Fatal("without QuietAdditions, a new environment lists no object")
	}

	_, err = Write(context.Background(), treeOf(t, prodStack()), fresh, QuietAdditions())
	var imm *ImmutableError
	if !errors.As(err, &imm) || len(imm.Refused) != 1 || imm.Refused[0].Object() != "StatefulSet.apps monitoring/prometheus" {
		t.Fatalf("got %v, want the StatefulSet refused as without QuietAdditions", err)
	}
	r, err = Write(context.Background(), treeOf(t, prodStack()), fresh, QuietAdditions(), Migrated())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Objects {
		got = append(got, string(c.Action)+" "+c.Object())
	}
	if !slices.Contains(got, "added ConfigMap monitoring/prometheus-extra-scrape") || !slices.Contains(got, "removed Service monitoring/prometheus-operator") {
		t.Errorf("changes to an environment already there: %v", got)
	}
}
