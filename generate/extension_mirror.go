package generate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// mirrorImages moves every image of s to the environment's mirror registry
// (images.registry), whichever component made it: every image comes from
// the release table (generate/stack/images.go), so each occurrence of a
// table repository followed by a tag or digest, or standing alone as a
// JSON string (Helm values' image.repository), is rewritten in the object's
// JSON. ECK picks the Elasticsearch and Kibana images itself, from its
// container registry setting, which the operator's Helm values set.
func mirrorImages(e *env.Environment, s *stack.Set) error {
	registry := e.Images.Registry
	if registry == "" {
		return nil
	}
	repos := stack.Repositories()
	var pairs []string
	for _, r := range repos {
		m := stack.Mirrored(registry, r)
		pairs = append(pairs, r+":", m+":", r+"@", m+"@", `"`+r+`"`, `"`+m+`"`)
	}
	rewrite := strings.NewReplacer(pairs...)
	for _, r := range s.Resources() {
		if hr, ok := r.Object.(*helmv2.HelmRelease); ok && hr.Name == elasticsearch.ReleaseName && hr.Namespace == elasticsearch.OperatorNamespace {
			if err := setECKRegistry(hr, registry); err != nil {
				return err
			}
		}
		b, err := json.Marshal(r.Object)
		if err != nil {
			return fmt.Errorf("images.registry: %s %s: %w", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), err)
		}
		out := []byte(rewrite.Replace(string(b)))
		if bytes.Equal(out, b) {
			continue
		}
		v := reflect.ValueOf(r.Object).Elem()
		fresh := reflect.New(v.Type())
		if err := json.Unmarshal(out, fresh.Interface()); err != nil {
			return fmt.Errorf("images.registry: %s %s: %w", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), err)
		}
		v.Set(fresh.Elem())
	}
	return nil
}

// setECKRegistry sets the ECK chart's config.containerRegistry, from which
// the operator builds <registry>/elasticsearch/elasticsearch:<version> and
// <registry>/kibana/kibana:<version>: the same paths Mirrored gives.
func setECKRegistry(hr *helmv2.HelmRelease, registry string) error {
	values := map[string]any{}
	if hr.Spec.Values != nil && len(hr.Spec.Values.Raw) > 0 {
		if err := json.Unmarshal(hr.Spec.Values.Raw, &values); err != nil {
			return fmt.Errorf("images.registry: HelmRelease %s values: %w", hr.Name, err)
		}
	}
	cfg, _ := values["config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["containerRegistry"] = strings.TrimSuffix(registry, "/")
	values["config"] = cfg
	raw, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("images.registry: HelmRelease %s values: %w", hr.Name, err)
	}
	hr.Spec.Values.Raw = raw
	return nil
}

// Images lists every image an environment's objects run, sorted, each once:
// container, init container and ephemeral container images, the image
// fields of custom resources (Prometheus, Alertmanager, …), images named in
// arguments and Helm values, and the Elasticsearch and Kibana images ECK
// derives from their version. It is what a mirror must hold (gen images).
func Images(e *env.Environment, s *stack.Set) ([]string, error) {
	set := map[string]bool{}
	known := map[string]bool{}
	for _, r := range stack.Repositories() {
		known[stack.Mirrored(e.Images.Registry, r)] = true
	}
	for _, r := range s.Resources() {
		b, err := json.Marshal(r.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), err)
		}
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		collectImages(m, "", known, set)
		gvk := r.Object.GetObjectKind().GroupVersionKind()
		derived := map[string]stack.Release{
			"elasticsearch.k8s.elastic.co/Elasticsearch": stack.Elasticsearch,
			"kibana.k8s.elastic.co/Kibana":               stack.Kibana,
		}
		if rel, ok := derived[gvk.Group+"/"+gvk.Kind]; ok {
			spec, _ := m.(map[string]any)["spec"].(map[string]any)
			img, _ := spec["image"].(string)
			ver, _ := spec["version"].(string)
			if img == "" && ver != "" {
				set[stack.Mirrored(e.Images.Registry, rel.Image)+":"+ver] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Strings(out)
	return out, nil
}

// collectImages adds every string under an "image" key, every
// {repository, tag} pair of Helm values, and every table image found inside
// a string (an operator flag such as --prometheus-config-reloader=…).
func collectImages(v any, key string, known, set map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if repo, ok := x["repository"].(string); ok && known[repo] {
			if tag, _ := x["tag"].(string); tag != "" {
				set[repo+":"+tag] = true
			}
		}
		for k, e := range x {
			collectImages(e, k, known, set)
		}
	case []any:
		for _, e := range x {
			collectImages(e, key, known, set)
		}
	case string:
		if key == "image" && x != "" {
			set[x] = true
			return
		}
		for repo := range known {
			for i := strings.Index(x, repo+":"); i >= 0; {
				ref := x[i:]
				if end := strings.IndexAny(ref, " ,\"'\n\t"); end >= 0 {
					ref = ref[:end]
				}
				set[ref] = true
				next := strings.Index(x[i+1:], repo+":")
				if next < 0 {
					break
				}
				i += 1 + next
			}
		}
	}
}

// githubPrefix is where every upstream GitRepository Vigil references lives.
const githubPrefix = "https://github.com/"

// mirrorSources points the upstream GitRepositories and ECK's
// HelmRepository at the environment's mirrors (sources.github,
// sources.elasticCharts), so that Flux fetches nothing from the internet.
func mirrorSources(e *env.Environment, s *stack.Set) {
	if m := e.Sources.GitHub; m != "" {
		s.RewriteUpstreams(func(u string) string {
			if rest, ok := strings.CutPrefix(u, githubPrefix); ok {
				return strings.TrimSuffix(m, "/") + "/" + rest
			}
			return u
		})
	}
	if m := e.Sources.ElasticCharts; m != "" {
		for _, r := range s.Resources() {
			if repo, ok := r.Object.(*sourcev1.HelmRepository); ok && repo.Spec.URL == elasticsearch.ChartRepository {
				repo.Spec.URL = m
			}
		}
	}
}

// checkSources: a mirror registry says the cluster has no internet access,
// so the sources Flux fetches at run time must come from mirrors too.
func checkSources(e *env.Environment) []env.Issue {
	if e.Images.Registry == "" {
		return nil
	}
	var out []env.Issue
	if e.Sources.GitHub == "" {
		out = append(out, env.Errorf(p("images", "registry"), "with a mirror registry the cluster is taken to have no internet access, but Flux would fetch the upstream CRDs from "+githubPrefix+": set sources.github to a git mirror of those repositories (gen graph lists them)"))
	}
	if e.Logging.Enabled && e.Sources.ElasticCharts == "" {
		out = append(out, env.Errorf(p("images", "registry"), "with a mirror registry the cluster is taken to have no internet access, but Flux would fetch the ECK operator chart from "+elasticsearch.ChartRepository+": set sources.elasticCharts to a mirror of that Helm repository"))
	}
	return out
}
