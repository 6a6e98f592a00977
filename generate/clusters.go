package generate

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// CheckClusters refuses environments that deploy to the same cluster
// (cluster.name) with different settings. Vigil renders one environment per
// cluster: two would share the cluster-scoped objects (ClusterRoles,
// webhook configurations, StorageClasses, Namespaces) and each reconcile
// would undo the other. envs[i] was loaded from sources[i]; nil entries (the
// invalid ones) are skipped. The error names both CUE positions.
func CheckClusters(ctx context.Context, sources []Source, envs []*Environment) error {
	first := map[string]int{}
	var problems []string
	for i, e := range envs {
		if e == nil {
			continue
		}
		name := e.Spec.Cluster.Name
		j, seen := first[name]
		if !seen {
			first[name] = i
			continue
		}
		if reflect.DeepEqual(envs[j].Spec, e.Spec) {
			continue // the same environment given twice
		}
		problems = append(problems, clusterConflict(ctx, sources[i], sources[j], e.Spec.Name, envs[j].Spec.Name, name))
	}
	return clusterProblems(problems)
}

// clusterConflict says that the environments of sources a and b (named
// nameA and nameB) both deploy to cluster; shared with the fleet renderer,
// which compares cached environments by a hash of their values.
func clusterConflict(ctx context.Context, a, b Source, nameA, nameB, cluster string) string {
	return fmt.Sprintf("%s: cluster.name: environments %s and %s both deploy to cluster %q (%s); their cluster-scoped objects (ClusterRoles, webhooks, StorageClasses, Namespaces) would overwrite each other: give each environment its own cluster.name and cluster",
		clusterNameAt(ctx, a), nameA, nameB, cluster, "also set at "+clusterNameAt(ctx, b))
}

func clusterProblems(problems []string) error {
	if len(problems) > 0 {
		return invalid(fmt.Errorf("one environment per cluster:\n  %s", strings.Join(problems, "\n  ")))
	}
	return nil
}

// clusterNameAt is where a source sets cluster.name, or the source itself
// when the position cannot be found.
func clusterNameAt(ctx context.Context, src Source) string {
	d, err := Locate(ctx, src, [][]string{{"cluster", "name"}})
	if err != nil || len(d) == 0 || d[0].File == "" {
		return src.String()
	}
	return fmt.Sprintf("%s:%d:%d", d[0].File, d[0].Line, d[0].Column)
}
