package spark

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Paths inside the History Server pod.
const (
	historyConfDir = "/opt/vigil/conf"
	jarsDir        = "/opt/vigil/jars"
	truststoreDir  = "/opt/vigil/truststore"
	truststore     = truststoreDir + "/cacerts"
)

const partHistory = "history-server"

func (g *generator) historyLabels() map[string]string {
	return stack.Labels(HistoryServerName, partHistory, g.e.Spark.Version)
}

// historyServer adds the History Server (layer Instances): a ConfigMap with
// its spark-defaults.conf, a one-replica Deployment reading the event log,
// its Service, an Ingress when a host is set, and a NetworkPolicy.
func (g *generator) historyServer(s *stack.Set) error {
	if !g.history {
		return nil
	}
	conf, err := g.historyDefaults()
	if err != nil {
		return err
	}
	text := conf.Encode()
	dep, err := g.historyDeployment(text)
	if err != nil {
		return err
	}
	l := g.historyLabels()
	s.Add(Component, stack.Instances,
		&corev1.ConfigMap{ObjectMeta: meta(HistoryServerName, g.ns, l), Data: map[string]string{SparkDefaultsFile: text}},
		dep,
		&corev1.Service{
			ObjectMeta: meta(HistoryServerName, g.ns, l),
			Spec: corev1.ServiceSpec{
				Selector: stack.SelectorLabels(HistoryServerName, partHistory),
				Ports:    []corev1.ServicePort{{Name: "http", Port: HistoryServerPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
			},
		},
		&networkingv1.NetworkPolicy{
			ObjectMeta: meta(HistoryServerName, g.ns, l),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: stack.SelectorLabels(HistoryServerName, partHistory)},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				// Only the UI port, which also serves the metrics. Its
				// clients are the ingress controller, whose namespace
				// the environment does not name, and Prometheus.
				Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{tcpPort(HistoryServerPort)}}},
			},
		},
	)
	if in := g.e.Spark.HistoryServer.Ingress; in.Host != "" {
		ing := &networkingv1.Ingress{
			ObjectMeta: meta(HistoryServerName, g.ns, l),
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To(g.e.Cluster.IngressClassName),
				Rules: []networkingv1.IngressRule{{
					Host: in.Host,
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: HistoryServerName, Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}}}},
				}},
			},
		}
		if in.TLSSecret != "" {
			ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{in.Host}, SecretName: in.TLSSecret}}
		}
		s.Add(Component, stack.Instances, ing)
	}
	return nil
}

// fetchJarsScript downloads each URL given as an argument into jarsDir and
// checks it against the .sha1 file Maven Central publishes next to it. That
// catches truncated or altered downloads on the way, though not a
// compromised repository: both come from the same server. A jar already
// there (a restarted init container) is kept.
const fetchJarsScript = `set -eu
cd ` + jarsDir + `
for url in "$@"; do
  jar=$(basename "$url")
  if [ -f "$jar" ]; then continue; fi
  curl -q -fsSL --retry 5 -o "$jar.part" "$url"
  want=$(curl -q -fsSL --retry 5 "$url.sha1" | cut -c1-40)
  got=$(sha1sum "$jar.part" | cut -c1-40)
  if [ "$want" != "$got" ]; then
    echo "sha1 of $jar is $got, Maven Central publishes $want" >&2
    exit 1
  fi
  mv "$jar.part" "$jar"
done
`

// copyJarsScript copies the S3A jars from the jar image's directory
// (the first argument) into jarsDir, and fails when there is none, so that a
// wrong path shows in the init container's log rather than as a
// ClassNotFoundException of the History Server.
const copyJarsScript = `set -eu
found=0
for jar in "$1"/*.jar; do
  [ -f "$jar" ] || continue
  cp "$jar" ` + jarsDir + `/
  found=1
done
if [ "$found" = 0 ]; then
  echo "no *.jar in $1 of the s3aJars image" >&2
  exit 1
fi
`

// s3aJarsInit is the init container that puts hadoop-aws and the SDK
// bundle into jarsDir: copied from spark.historyServer.s3aJars.image, or
// downloaded from its mirrorUrl or else Maven Central. With images.registry
// set (an air-gapped cluster), downloading from Maven Central is refused.
func (g *generator) s3aJarsInit() (corev1.Container, error) {
	src := g.e.Spark.HistoryServer.S3AJars
	if src.Image != "" && src.MirrorURL != "" {
		return corev1.Container{}, fmt.Errorf("spark.historyServer.s3aJars: set image or mirrorUrl, not both")
	}
	if src.Image != "" {
		return corev1.Container{
			Name:            "copy-s3a-jars",
			Image:           src.Image,
			Command:         []string{"/bin/sh", "-c", copyJarsScript, "copy-s3a-jars", src.Path},
			Resources:       smallResources("100m", "64Mi", "128Mi"),
			SecurityContext: restricted(),
			VolumeMounts:    []corev1.VolumeMount{{Name: "jars", MountPath: jarsDir}},
		}, nil
	}
	repo := mavenCentral
	if src.MirrorURL != "" {
		repo = src.MirrorURL
	} else if g.e.Images.Registry != "" {
		return corev1.Container{}, fmt.Errorf("images.registry is set, so the cluster is taken to have no internet access, but the Spark History Server would download its S3A jars from Maven Central: set spark.historyServer.s3aJars.image (an image holding %s) or s3aJars.mirrorUrl (a Maven proxy)", jarNames(g.s3a))
	}
	urls := []string{}
	for _, j := range g.s3a.Jars() {
		urls = append(urls, j.URLIn(repo))
	}
	return corev1.Container{
		Name:            "fetch-s3a-jars",
		Image:           stack.Curl.Ref(),
		Command:         []string{"/bin/sh", "-c", fetchJarsScript, "fetch-s3a-jars"},
		Args:            urls,
		Resources:       smallResources("100m", "64Mi", "128Mi"),
		SecurityContext: restricted(),
		VolumeMounts:    []corev1.VolumeMount{{Name: "jars", MountPath: jarsDir}},
	}, nil
}

func jarNames(s S3A) string {
	var names []string
	for _, j := range s.Jars() {
		names = append(names, j.Artifact+"-"+j.Version+".jar")
	}
	return strings.Join(names, " and ")
}

// truststoreScript builds a Java trust store of the JDK's CAs plus every
// certificate of the S3 CA bundle (keytool imports one certificate per
// call, so the bundle is split first). "changeit" is the JDK trust store's
// well-known password, not a secret: a trust store holds no private key.
const truststoreScript = `set -eu
cp "$JAVA_HOME/lib/security/cacerts" ` + truststore + `
chmod u+w ` + truststore + `
awk '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > ("/tmp/s3-ca-" n ".pem") }' ` + caDir + `/ca.crt
for pem in /tmp/s3-ca-*.pem; do
  "$JAVA_HOME/bin/keytool" -importcert -noprompt -storepass changeit -keystore ` + truststore + ` -alias "vigil-s3-ca-$(basename "$pem" .pem)" -file "$pem"
done
`

// DaemonMemory is SPARK_DAEMON_MEMORY, the History Server's heap: three
// quarters of the memory limit, leaving the rest to metaspace, threads and
// the local store. spark-class sets -Xmx to 1g without it, which a 1Gi
// limit cannot hold. The loader calls it too, to refuse at validate time
// a limit too small for a heap.
func DaemonMemory(res corev1.ResourceRequirements) (string, error) {
	limit, ok := res.Limits[corev1.ResourceMemory]
	if !ok {
		return "", fmt.Errorf("the History Server needs a memory limit to size its heap")
	}
	mi := (limit.Value() * 3 / 4) >> 20
	if mi < 256 {
		return "", fmt.Errorf("memory limit %s leaves the History Server %dMi of heap; give it at least 512Mi", limit.String(), mi)
	}
	return strconv.FormatInt(mi, 10) + "m", nil
}

func (g *generator) historyDeployment(conf string) (*appsv1.Deployment, error) {
	hs := g.e.Spark.HistoryServer
	image, ok := stack.SparkRelease(g.e.Spark.Version)
	if !ok {
		return nil, fmt.Errorf("spark.version %s: no pinned apache/spark image of that version (generate/stack SparkRelease)", g.e.Spark.Version)
	}
	res, err := hs.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("spark.historyServer.%w", err)
	}
	heap, err := DaemonMemory(res)
	if err != nil {
		return nil, fmt.Errorf("spark.historyServer.resources: %w", err)
	}
	fetch, err := g.s3aJarsInit()
	if err != nil {
		return nil, err
	}
	env := []corev1.EnvVar{
		{Name: "SPARK_CONF_DIR", Value: historyConfDir},
		{Name: "SPARK_DAEMON_MEMORY", Value: heap},
		// spark-class puts SPARK_DIST_CLASSPATH on the classpath; the
		// image's jars directory is read-only.
		{Name: "SPARK_DIST_CLASSPATH", Value: jarsDir + "/*"},
	}
	env = append(env, g.credentialsEnv()...)
	mounts := []corev1.VolumeMount{
		{Name: "conf", MountPath: historyConfDir, ReadOnly: true},
		{Name: "jars", MountPath: jarsDir, ReadOnly: true},
		{Name: "store", MountPath: historyStorePath},
		{Name: "tmp", MountPath: "/tmp"},
	}
	volumes := []corev1.Volume{
		configMapVolume("conf", HistoryServerName),
		// The SDK v2 bundle alone is about 500 MB.
		emptyDir("jars", "1Gi"),
		emptyDir("store", "10Gi"),
		emptyDir("tmp", "1Gi"),
	}
	inits := []corev1.Container{fetch}
	if ca := g.s3.CABundle; ca != nil {
		volumes = append(volumes, caVolume(ca), emptyDir("truststore", "16Mi"))
		inits = append(inits, corev1.Container{
			Name:            "truststore",
			Image:           image.Ref(),
			Command:         []string{"/bin/sh", "-c", truststoreScript},
			Resources:       smallResources("100m", "128Mi", "256Mi"),
			SecurityContext: restricted(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "s3-ca", MountPath: caDir, ReadOnly: true},
				{Name: "truststore", MountPath: truststoreDir},
				{Name: "tmp", MountPath: "/tmp"},
			},
		})
		mounts = append(mounts, corev1.VolumeMount{Name: "truststore", MountPath: truststoreDir, ReadOnly: true})
		env = append(env, corev1.EnvVar{Name: "SPARK_HISTORY_OPTS", Value: strings.Join([]string{
			"-Djavax.net.ssl.trustStore=" + truststore,
			"-Djavax.net.ssl.trustStorePassword=changeit",
		}, " ")})
	}
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/api/v1/version", Port: intstr.FromString("http")}},
			PeriodSeconds:    10,
			TimeoutSeconds:   5,
			FailureThreshold: failures,
		}
	}
	selector := stack.SelectorLabels(HistoryServerName, partHistory)
	return &appsv1.Deployment{
		ObjectMeta: meta(HistoryServerName, g.ns, g.historyLabels()),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			// One History Server at a time: two would both run the
			// cleaner on the same prefix.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      g.historyLabels(),
					Annotations: map[string]string{checksumAnnotation: checksum(conf)},
				},
				Spec: corev1.PodSpec{
					// It reads S3, never the Kubernetes API.
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              podSecurity(sparkUID, sparkUID),
					InitContainers:               inits,
					Containers: []corev1.Container{{
						Name:  partHistory,
						Image: image.Ref(),
						Command: []string{
							"/opt/spark/bin/spark-class", "org.apache.spark.deploy.history.HistoryServer",
							"--properties-file", historyConfDir + "/" + SparkDefaultsFile,
						},
						Env:             env,
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: HistoryServerPort, Protocol: corev1.ProtocolTCP}},
						Resources:       res,
						SecurityContext: restricted(),
						VolumeMounts:    mounts,
						// Listing a large prefix can take a while on start.
						StartupProbe:   probe(30),
						LivenessProbe:  probe(6),
						ReadinessProbe: probe(3),
					}},
					Volumes: volumes,
				},
			},
		},
	}, nil
}
