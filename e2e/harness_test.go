//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Versions of what the harness runs; e2e/build.sh and e2e/upstream.sh use
// the same defaults.
const (
	k8sVersion        = "v1.37.2"
	fluxVersion       = "v1.9.5" // kustomize- and source-controller
	helmCtrlVersion   = "v1.6.4"
	eckVersion        = "3.5.0"
	promOpVersion     = "v0.95.2"
	sparkOpVersion    = "v2.5.2"
	fieldManager      = "vigil-e2e"
	fluxNamespace     = "flux-system"
	gitRepositoryName = "flux-system"
)

// paths are the directories the harness works with.
type paths struct {
	repo  string // the Vigil checkout
	cache string // $VIGIL_E2E_CACHE
	gen   string // the gen binary built for this run
	work  string // this run's scratch directory
}

func cacheDir() string {
	if d := os.Getenv("VIGIL_E2E_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "vigil-e2e")
}

func portBase() int {
	var b int
	if _, err := fmt.Sscanf(os.Getenv("E2E_PORT_BASE"), "%d", &b); err != nil || b == 0 {
		return 26000
	}
	return b
}

func gitURL(repo string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/git/%s.git", portBase()+80, repo)
}

func filesURL(dir string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/files/%s", portBase()+80, dir)
}

// run runs a command, returning its combined output in the error.
func run(dir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// cluster is one control plane started by cluster.sh, and clients for it.
type cluster struct {
	t        *testing.T
	dir      string
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warningLog
	// status is a client without the warning log, for the status writer.
	status dynamic.Interface
	script string // cluster.sh
}

// startControllers starts the Flux controllers, which need their CRDs.
func (c *cluster) startControllers(t *testing.T) {
	t.Helper()
	start := time.Now()
	if out, err := run(filepath.Dir(c.script), c.script, "controllers", c.dir); err != nil {
		t.Fatalf("starting the Flux controllers: %v", err)
	} else {
		t.Logf("Flux controllers up in %s %s", time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(out))
	}
}

// startCluster starts a fresh control plane in dir and stops it when the
// test ends, whatever the outcome (make e2e's trap covers interrupts).
func startCluster(t *testing.T, p paths, dir string) *cluster {
	t.Helper()
	script := filepath.Join(p.repo, "e2e", "cluster.sh")
	start := time.Now()
	out, err := run(p.repo, script, "up", dir)
	t.Cleanup(func() {
		stop := time.Now()
		if out, err := run(p.repo, script, "down", dir); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		} else {
			t.Logf("control plane stopped in %s %s", time.Since(stop).Round(100*time.Millisecond), strings.TrimSpace(out))
		}
	})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Logf("control plane up in %s\n%s", time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(out))
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	c := &cluster{t: t, dir: dir, warnings: &warningLog{}, script: script}
	statusCfg := rest.CopyConfig(cfg)
	statusCfg.WarningHandler = rest.NoWarnings{}
	cfg.WarningHandler = c.warnings
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.status, err = dynamic.NewForConfig(statusCfg); err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(statusCfg)
	if err != nil {
		t.Fatal(err)
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return c
}

// warningLog collects the API server's Warning headers. Applies are
// sequential, so a reset before and a read after each one attributes them.
type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

func (c *cluster) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		c.mapper.Reset() // a CRD may have been established since
		if m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("%s: %w", describe(obj), err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// apply server-side applies obj with strict field validation, for real or
// as a dry run, and returns the warnings the API server sent with it.
func (c *cluster) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) ([]string, error) {
	ri, err := c.resource(obj)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: new(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	c.warnings.take()
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, opts)
	return c.warnings.take(), err
}

func describe(obj *unstructured.Unstructured) string {
	s := obj.GetKind() + " " + obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		s += " -n " + ns
	}
	return s
}

// waitCRDs waits until every CRD is Established, so that its kinds can be applied.
func (c *cluster) waitCRDs(ctx context.Context) error {
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	return poll(ctx, time.Minute, func() (bool, string, error) {
		list, err := c.status.Resource(crds).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		var waiting []string
		for _, crd := range list.Items {
			if condition(&crd, "Established") != "True" {
				waiting = append(waiting, crd.GetName())
			}
		}
		return len(waiting) == 0, "CRDs not established: " + strings.Join(waiting, ", "), nil
	})
}

// poll calls f every 250ms until it reports done, returns an error or the
// timeout expires; the timeout error carries f's last message.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		done, msg, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		last = msg
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %s", timeout, last)
		case <-time.After(pollInterval):
		}
	}
}

// condition returns the status of a status condition, "" if absent.
func condition(obj *unstructured.Unstructured, typ string) string {
	s, _, _ := conditionDetail(obj, typ)
	return s
}

func conditionDetail(obj *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		return status, reason, message
	}
	return "", "", ""
}

// buildKustomization builds a kustomization directory the way Flux does
// (krusty, no plugins) and returns its objects.
func buildKustomization(dir string) ([]*unstructured.Unstructured, error) {
	opts := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		obj, err := decodeObject(data)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// readYAMLDir reads every object of every YAML file directly in dir.
func readYAMLDir(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			j, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if string(bytes.TrimSpace(j)) == "null" {
				continue
			}
			obj, err := decodeObject(j)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// decodeObject decodes JSON the way client-go does (integers as int64), so
// that unstructured's helpers work on the result.
func decodeObject(data []byte) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return obj, nil
}

// statusWriter stands in for the kubelet and kube-controller-manager, which
// this control plane does not run: it reports every workload ready, every
// Job complete, every PVC bound, and finishes terminating namespaces. It
// writes status subresources only and never touches a rendered object's spec.
type statusWriter struct {
	c    *cluster
	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex
	errs []string
}

func (c *cluster) startStatusWriter(ctx context.Context) *statusWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &statusWriter{c: c, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			w.pass(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(statusInterval):
			}
		}
	}()
	c.t.Cleanup(w.close)
	return w
}

// How often the test's own clients act. On two cores the control plane,
// the controllers and these share the CPU: at 250 ms polls, 500 ms status
// passes and 500 ms prerequisite checks the test process alone used a
// third of a core. Flux polls health every 5 s and requeues dependencies
// every 2 s, so nothing waits noticeably longer for the slower pace.
const (
	pollInterval         = 500 * time.Millisecond
	statusInterval       = time.Second
	prerequisiteInterval = 2 * time.Second
)

// fromWatchCache lists from the API server's watch cache instead of etcd:
// what the status writer acts on may be a moment old, which only delays it
// to its next pass.
var fromWatchCache = metav1.ListOptions{ResourceVersion: "0"}

func (w *statusWriter) close() {
	w.stop()
	<-w.done
}

// errors returns the distinct errors seen so far (a conflict with a
// controller's own write is retried on the next pass and is not one).
func (w *statusWriter) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

var (
	gvrDeployment  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrStatefulSet = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrDaemonSet   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	gvrJob         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	gvrPVC         = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	gvrNamespace   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

func (w *statusWriter) pass(ctx context.Context) {
	for _, gvr := range []schema.GroupVersionResource{gvrDeployment, gvrStatefulSet, gvrDaemonSet, gvrJob, gvrPVC} {
		list, err := w.c.status.Resource(gvr).List(ctx, fromWatchCache)
		if err != nil {
			w.record(ctx, fmt.Errorf("list %s: %w", gvr.Resource, err))
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if obj.GetDeletionTimestamp() != nil {
				continue
			}
			want := readyStatus(gvr, obj)
			if want == nil || statusCovers(obj, want) {
				continue
			}
			merged := obj.DeepCopy()
			status, _, _ := unstructured.NestedMap(merged.Object, "status")
			if status == nil {
				status = map[string]any{}
			}
			for k, v := range want {
				status[k] = v
			}
			merged.Object["status"] = status
			_, err := w.c.status.Resource(gvr).Namespace(obj.GetNamespace()).UpdateStatus(ctx, merged, metav1.UpdateOptions{})
			if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				w.record(ctx, fmt.Errorf("status of %s %s/%s: %w", gvr.Resource, obj.GetNamespace(), obj.GetName(), err))
			}
		}
	}
	w.finishNamespaces(ctx)
}

// finishNamespaces does the namespace controller's last step for a namespace
// Flux pruned: its objects were deleted one by one by Flux already.
func (w *statusWriter) finishNamespaces(ctx context.Context) {
	list, err := w.c.status.Resource(gvrNamespace).List(ctx, fromWatchCache)
	if err != nil {
		w.record(ctx, err)
		return
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if ns.GetDeletionTimestamp() == nil {
			continue
		}
		fin := ns.DeepCopy()
		unstructured.RemoveNestedField(fin.Object, "spec", "finalizers")
		if _, err := w.c.status.Resource(gvrNamespace).Update(ctx, fin, metav1.UpdateOptions{}, "finalize"); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.record(ctx, fmt.Errorf("finalize namespace %s: %w", ns.GetName(), err))
		}
	}
}

func (w *statusWriter) record(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.errs, err.Error()) {
		w.errs = append(w.errs, err.Error())
	}
}

// readyStatus is the status a healthy object of this kind reports, as far as
// Flux's kstatus health checks look.
func readyStatus(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) map[string]any {
	gen := obj.GetGeneration()
	replicas, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	cond := func(typ, reason string) map[string]any {
		return map[string]any{"type": typ, "status": "True", "reason": reason, "message": "vigil-e2e status writer",
			"lastTransitionTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-01T00:00:00Z"}
	}
	switch gvr {
	case gvrDeployment:
		return map[string]any{"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
			"readyReplicas": replicas, "availableReplicas": replicas,
			"conditions": []any{cond("Available", "MinimumReplicasAvailable"), cond("Progressing", "NewReplicaSetAvailable")}}
	case gvrStatefulSet:
		return map[string]any{"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
			"readyReplicas": replicas, "availableReplicas": replicas, "currentReplicas": replicas,
			"currentRevision": obj.GetName() + "-e2e", "updateRevision": obj.GetName() + "-e2e"}
	case gvrDaemonSet:
		return map[string]any{"observedGeneration": gen, "desiredNumberScheduled": int64(1), "currentNumberScheduled": int64(1),
			"updatedNumberScheduled": int64(1), "numberReady": int64(1), "numberAvailable": int64(1), "numberMisscheduled": int64(0)}
	case gvrJob:
		completions, found, _ := unstructured.NestedInt64(obj.Object, "spec", "completions")
		if !found {
			completions = 1
		}
		c1, c2 := cond("SuccessCriteriaMet", "CompletionsReached"), cond("Complete", "CompletionsReached")
		delete(c1, "lastUpdateTime")
		delete(c2, "lastUpdateTime")
		c1["lastProbeTime"], c2["lastProbeTime"] = "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
		return map[string]any{"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:01Z",
			"succeeded": completions, "ready": int64(0), "terminating": int64(0), "conditions": []any{c1, c2}}
	case gvrPVC:
		return map[string]any{"phase": "Bound"}
	}
	return nil
}

// statusCovers reports whether obj's status already says what want says,
// comparing the scalar fields only (conditions follow them).
func statusCovers(obj *unstructured.Unstructured, want map[string]any) bool {
	status, _, _ := unstructured.NestedMap(obj.Object, "status")
	for k, v := range want {
		if _, isList := v.([]any); isList {
			if _, ok := status[k]; !ok {
				return false
			}
			continue
		}
		if fmt.Sprint(status[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}
