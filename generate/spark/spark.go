package spark

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the component name of every object this package adds.
const Component = "spark"

// Names and ports other components may refer to. They follow the upstream
// chart's names for a release called "spark-operator", so that its
// documentation applies as written.
const (
	// OperatorName is the app.kubernetes.io/name of the operator's objects.
	OperatorName = "spark-operator"
	// ControllerName names the controller's Deployment, ServiceAccount and
	// RBAC objects.
	ControllerName = "spark-operator-controller"
	// WebhookName names the webhook's Deployment, ServiceAccount, RBAC
	// objects and both webhook configurations.
	WebhookName = "spark-operator-webhook"
	// WebhookServiceName is the Service the API server calls.
	WebhookServiceName = "spark-operator-webhook-svc"
	// WebhookSecretName is the Secret the webhook creates for its own
	// serving certificate (it is not rendered).
	WebhookSecretName = "spark-operator-webhook-certs"
	// WebhookPort is the webhook's HTTPS port.
	WebhookPort = 9443
	// MetricsPort serves the operator's Prometheus metrics on /metrics.
	MetricsPort = 8080
	// MetricsPortName is the container port name of MetricsPort.
	MetricsPortName = "metrics"

	// SparkServiceAccount is the ServiceAccount Spark drivers run as in
	// every job namespace (spec.driver.serviceAccount of a
	// SparkApplication).
	SparkServiceAccount = "spark-operator-spark"
	// SparkDefaultsConfigMap holds the shared Spark settings, in every job
	// namespace and in the operator's namespace, under SparkDefaultsFile.
	SparkDefaultsConfigMap = "spark-defaults"
	// SparkDefaultsFile is the key (and file name) of spark-defaults.conf.
	SparkDefaultsFile = "spark-defaults.conf"

	// HistoryServerName names the History Server's Deployment, Service,
	// Ingress and ConfigMap.
	HistoryServerName = "spark-history-server"
	// HistoryServerPort serves the History Server UI, its REST API and its
	// metrics.
	HistoryServerPort = 18080
	// BootstrapJobName is the Job that creates the event log placeholder.
	BootstrapJobName = "spark-event-log-bootstrap"

	// DriverUIPort is the Spark UI of a running driver; the operator's UI
	// Service for each application points at it.
	DriverUIPort = 4040
	// PrometheusPath is where Spark's PrometheusServlet serves metrics, on
	// the driver UI and on the History Server.
	PrometheusPath = "/metrics/prometheus"
)

// OperatorNamespace is the namespace of the operator.
func OperatorNamespace(e *env.Environment) string { return e.Spark.Operator.Namespace }

// HistoryServerNamespace is the namespace of the History Server and of the
// bootstrap Job: the operator's, so that the job namespaces hold only jobs.
// The event log credentials Secret must exist there and in every job
// namespace.
func HistoryServerNamespace(e *env.Environment) string { return e.Spark.Operator.Namespace }

// sparkUID is the spark user of the apache/spark image and of the operator
// image built on it. The images name the user, so Kubernetes can only check
// runAsNonRoot when the uid is given.
const sparkUID = 185

// Generate adds the Spark Operator, the job namespaces' ServiceAccount, RBAC
// and shared settings, the History Server with its bootstrap Job, and their
// monitors and alert rules. It adds nothing when Spark is disabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Spark.Enabled {
		return nil
	}
	g, err := newGenerator(e)
	if err != nil {
		return fmt.Errorf("spark: %w", err)
	}
	s.AddUpstream(stack.Upstream{
		Name:      "spark-operator-crds",
		Component: Component,
		Layer:     stack.CRDs,
		URL:       "https://github.com/kubeflow/spark-operator",
		Tag:       "v" + stack.SparkOperator.Version,
		Path:      "./config/crd/bases",
		Groups:    []string{"sparkoperator.k8s.io"},
	})
	steps := []func(*stack.Set) error{g.operator, g.jobNamespaces, g.historyServer, g.bootstrap, g.monitoring}
	for _, step := range steps {
		if err := step(s); err != nil {
			return fmt.Errorf("spark: %w", err)
		}
	}
	return nil
}

// generator holds what the parts of the component share, resolved once.
type generator struct {
	e  *env.Environment
	ns string
	// history is whether the History Server and the event log are on.
	history bool
	// The event log; set only with history.
	logDir   string
	s3       s3Target
	s3a      S3A
	defaults Properties
}

func newGenerator(e *env.Environment) (*generator, error) {
	if len(e.Spark.Operator.JobNamespaces) == 0 {
		return nil, fmt.Errorf("spark.operator.jobNamespaces is empty: Vigil renders the Spark RBAC per job namespace and never grants the operator the whole cluster; list the namespaces jobs run in")
	}
	if e.Spark.UI.IngressURLFormat != "" && !e.Spark.UI.Service {
		return nil, fmt.Errorf("spark.ui.ingressUrlFormat needs spark.ui.service: the operator creates a driver UI Ingress only in front of the UI Service")
	}
	g := &generator{e: e, ns: OperatorNamespace(e), history: e.SparkHistoryEnabled()}
	if g.history {
		hs := e.Spark.HistoryServer
		var err error
		if g.logDir, err = EventLogDir(hs.EventLog.Bucket, hs.EventLog.Prefix); err != nil {
			return nil, err
		}
		if g.s3, err = resolveS3(e); err != nil {
			return nil, err
		}
		var ok bool
		if g.s3a, ok = S3AFor(e.Spark.Version); !ok {
			return nil, fmt.Errorf("spark.version %s: Vigil knows the S3A jars of Spark %v only", e.Spark.Version, KnownLines())
		}
	}
	g.defaults = g.jobDefaults()
	return g, nil
}

func meta(name, namespace string, l map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: l}
}

// smallResources are those of the helper containers (downloads, keytool,
// the bootstrap request), which the schema does not size.
func smallResources(cpu, memory, limit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
	}
}

// restricted is the container securityContext every container here runs
// with: no root, no privilege escalation, no capabilities, a read-only root
// file system (writable paths are emptyDir volumes).
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		ReadOnlyRootFilesystem:   ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Privileged:               ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podSecurity runs a pod as uid:gid, with volumes group-owned by gid.
func podSecurity(uid, gid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(uid),
		RunAsGroup:     ptr.To(gid),
		FSGroup:        ptr.To(gid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// secretEnv sets an environment variable from a Secret reference.
func secretEnv(name string, ref env.SecretRef) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Secret},
		Key:                  ref.Key,
	}}}
}

// credentialsEnv is the S3 key pair of the event log, by reference.
func (g *generator) credentialsEnv() []corev1.EnvVar {
	c := g.e.Spark.HistoryServer.Credentials
	return []corev1.EnvVar{
		secretEnv("AWS_ACCESS_KEY_ID", c.AccessKeyID),
		secretEnv("AWS_SECRET_ACCESS_KEY", c.SecretAccessKey),
	}
}

// emptyDir is a scratch volume with a size limit.
func emptyDir(name, limit string) corev1.Volume {
	q := resource.MustParse(limit)
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &q}}}
}

func configMapVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
	}}}
}

// caVolume mounts the S3 CA bundle as ca.crt.
func caVolume(ref *env.SecretRef) corev1.Volume {
	return corev1.Volume{Name: "s3-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: ref.Secret,
		Items:      []corev1.KeyToPath{{Key: ref.Key, Path: "ca.crt"}},
	}}}
}

const caDir = "/etc/vigil/s3-ca"

// checksum is the annotation value that rolls pods when a file they mount
// changes.
func checksum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checksumAnnotation names the hash of the configuration a pod mounts.
const checksumAnnotation = "vigil.dev/config-sha256"
