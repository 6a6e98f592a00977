package metrics_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// kubePrometheusAlerts are the 124 distinct alert names of kube-prometheus
// v0.18.0's manifests/*prometheusRule.yaml.
var kubePrometheusAlerts = []string{
	"AlertmanagerClusterCrashlooping", "AlertmanagerClusterDown", "AlertmanagerClusterFailedToSendAlerts", "AlertmanagerConfigInconsistent",
	"AlertmanagerFailedReload", "AlertmanagerFailedToSendAlerts", "AlertmanagerMembersInconsistent", "CPUThrottlingHigh",
	"ConfigReloaderSidecarErrors", "GrafanaRequestsFailing", "InfoInhibitor", "KubeAPIDown",
	"KubeAPIErrorBudgetBurn", "KubeAPIInstanceUnreachable", "KubeAPITerminatedRequests", "KubeAggregatedAPIDown",
	"KubeAggregatedAPIErrors", "KubeCPUOvercommit", "KubeCPUQuotaOvercommit", "KubeClientCertificateExpiration",
	"KubeClientErrors", "KubeContainerWaiting", "KubeControllerManagerDown", "KubeControllerManagerInstanceUnreachable",
	"KubeDaemonSetMisScheduled", "KubeDaemonSetNotScheduled", "KubeDaemonSetRolloutStuck", "KubeDeploymentGenerationMismatch",
	"KubeDeploymentReplicasMismatch", "KubeDeploymentRolloutStuck", "KubeHpaMaxedOut", "KubeHpaReplicasMismatch",
	"KubeJobFailed", "KubeJobNotCompleted", "KubeMemoryOvercommit", "KubeMemoryQuotaOvercommit",
	"KubeNodeEviction", "KubeNodeNotReady", "KubeNodePressure", "KubeNodeReadinessFlapping",
	"KubeNodeUnreachable", "KubePdbNotEnoughHealthyPods", "KubePersistentVolumeErrors", "KubePersistentVolumeFillingUp",
	"KubePersistentVolumeInodesFillingUp", "KubePodCrashLooping", "KubePodNotReady", "KubeQuotaAlmostFull",
	"KubeQuotaExceeded", "KubeQuotaFullyUsed", "KubeSchedulerDown", "KubeSchedulerInstanceUnreachable",
	"KubeStateMetricsListErrors", "KubeStateMetricsShardingMismatch", "KubeStateMetricsShardsMissing", "KubeStateMetricsWatchErrors",
	"KubeStatefulSetGenerationMismatch", "KubeStatefulSetReplicasMismatch", "KubeStatefulSetUpdateNotRolledOut", "KubeVersionMismatch",
	"KubeletClientCertificateExpiration", "KubeletClientCertificateRenewalErrors", "KubeletDown", "KubeletInstanceUnreachable",
	"KubeletPlegDurationHigh", "KubeletPodStartUpLatencyHigh", "KubeletServerCertificateExpiration", "KubeletServerCertificateRenewalErrors",
	"KubeletTooManyPods", "NodeBondingDegraded", "NodeCPUHighUsage", "NodeClockNotSynchronising",
	"NodeClockSkewDetected", "NodeDiskIOSaturation", "NodeFileDescriptorLimit", "NodeFilesystemAlmostOutOfFiles",
	"NodeFilesystemAlmostOutOfSpace", "NodeFilesystemFilesFillingUp", "NodeFilesystemSpaceFillingUp", "NodeHighNumberConntrackEntriesUsed",
	"NodeMemoryHighUtilization", "NodeMemoryMajorPagesFaults", "NodeNetworkInterfaceFlapping", "NodeNetworkReceiveErrs",
	"NodeNetworkTransmitErrs", "NodeRAIDDegraded", "NodeRAIDDiskFailure", "NodeSystemSaturation",
	"NodeSystemdServiceCrashlooping", "NodeSystemdServiceFailed", "NodeTextFileCollectorScrapeError", "PrometheusBadConfig",
	"PrometheusDuplicateTimestamps", "PrometheusErrorSendingAlertsToAnyAlertmanager", "PrometheusErrorSendingAlertsToSomeAlertmanagers", "PrometheusHighQueryLoad",
	"PrometheusKubernetesListWatchFailures", "PrometheusLabelLimitHit", "PrometheusMissingRuleEvaluations", "PrometheusNotConnectedToAlertmanagers",
	"PrometheusNotIngestingSamples", "PrometheusNotificationQueueRunningFull", "PrometheusOperatorListErrors", "PrometheusOperatorNodeLookupErrors",
	"PrometheusOperatorNotReady", "PrometheusOperatorReconcileErrors", "PrometheusOperatorRejectedResources", "PrometheusOperatorStatusUpdateErrors",
	"PrometheusOperatorSyncFailed", "PrometheusOperatorWatchErrors", "PrometheusOutOfOrderTimestamps", "PrometheusRemoteStorageFailures",
	"PrometheusRemoteWriteBehind", "PrometheusRemoteWriteDesiredShards", "PrometheusRuleFailures", "PrometheusSDRefreshFailure",
	"PrometheusScrapeBodySizeLimitHit", "PrometheusScrapeSampleLimitHit", "PrometheusTSDBCompactionsFailing", "PrometheusTSDBReloadsFailing",
	"PrometheusTargetLimitHit", "PrometheusTargetSyncFailure", "TargetDown", "Watchdog",
}

// parityRow is one row of docs/alert-parity.md.
var parityRow = regexp.MustCompile("^\\| `(\\w+)` \\| [^|]+ \\| (same|covered|partly|missing|n/a) \\| ([^|]*) \\|")

// The parity table lists every kube-prometheus alert once, every Vigil
// alert it names is rendered by an example, and no alert it calls missing
// or not applicable exists under the kube-prometheus name: adding such an
// alert makes this fail until the table says so.
func TestAlertParityTable(t *testing.T) {
	if len(kubePrometheusAlerts) != 124 {
		t.Fatalf("%d kube-prometheus alert names, want 124", len(kubePrometheusAlerts))
	}
	rendered := map[string]bool{}
	for _, name := range vigil.ExampleNames {
		for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](build(t, name)) {
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					if r.Alert != "" {
						rendered[r.Alert] = true
					}
				}
			}
		}
	}
	for _, msg := range checkParity(t, filepath.Join(stacktest.RepoRoot(), "docs", "alert-parity.md"), rendered) {
		t.Error(msg)
	}
}

func checkParity(t *testing.T, path string, rendered map[string]bool) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	rows := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		m := parityRow.FindStringSubmatch(sc.Text())
		if m == nil {
			if strings.HasPrefix(sc.Text(), "| `") {
				out = append(out, path+":"+itoa(line)+": row does not parse: "+sc.Text())
			}
			continue
		}
		name, status, vigilCol := m[1], m[2], m[3]
		where := path + ":" + itoa(line) + ": " + name
		if rows[name] {
			out = append(out, where+": listed twice")
		}
		rows[name] = true
		var named []string
		for _, v := range regexp.MustCompile("`(\\w+)`").FindAllStringSubmatch(vigilCol, -1) {
			named = append(named, v[1])
		}
		switch status {
		case "same":
			if len(named) != 1 || named[0] != name {
				out = append(out, where+": status same but the Vigil column is not the same name")
			}
		case "covered", "partly":
			if len(named) == 0 {
				out = append(out, where+": status "+status+" names no Vigil alert")
			}
		default:
			if len(named) != 0 {
				out = append(out, where+": status "+status+" but names a Vigil alert")
			}
			if rendered[name] {
				out = append(out, where+": status "+status+", but the examples render an alert of that name; update the row")
			}
		}
		for _, v := range named {
			if !rendered[v] {
				out = append(out, where+": no example renders the Vigil alert "+v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range kubePrometheusAlerts {
		if !rows[name] {
			out = append(out, path+": kube-prometheus alert "+name+" has no row")
		}
		delete(rows, name)
	}
	for name := range rows {
		out = append(out, path+": "+name+" is not a kube-prometheus v0.18.0 alert")
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// The parity check rejects a table with a missing row, a wrong name and a
// row that calls a rendered alert missing.
func TestAlertParityTableRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parity.md")
	table := "| `Watchdog` | general.rules | missing |  | x |\n" +
		"| `TargetDown` | general.rules | same | `TargetDown` |  |\n" +
		"| `KubePodNotReady` | kubernetes-apps | covered | `NoSuchAlert` | x |\n" +
		"| `NotUpstream` | x | n/a |  | x |\n"
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkParity(t, path, map[string]bool{"Watchdog": true, "TargetDown": true}), "\n")
	for _, want := range []string{
		"Watchdog: status missing, but the examples render an alert of that name",
		"KubePodNotReady: no example renders the Vigil alert NoSuchAlert",
		"NotUpstream is not a kube-prometheus v0.18.0 alert",
		"kube-prometheus alert KubeAPIDown has no row",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TargetDown") {
		t.Errorf("a correct row is reported:\n%s", got)
	}
}
