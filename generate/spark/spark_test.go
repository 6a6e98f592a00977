package spark_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := spark.Generate(e, &s); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	t.Parallel()
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := generate(t, stacktest.Example(t, name))
			stacktest.Check(t, s)
			stacktest.Golden(t, name, spark.Component, s)
			if len(s.Resources()) == 0 {
				t.Fatal("no objects")
			}
			for _, r := range s.Resources() {
				if r.Component != spark.Component {
					t.Errorf("%s/%s: component %q", r.Object.GetNamespace(), r.Object.GetName(), r.Component)
				}
			}
			// Flux's postBuild substitution would rewrite ${...} in any
			// object, scripts included.
			if out := string(stacktest.Render(t, s)); strings.Contains(out, "${") {
				t.Error("rendered objects contain ${, which Flux substitution would rewrite")
			}
			ups := s.Upstreams()
			if len(ups) != 1 || ups[0].Layer != stack.CRDs || ups[0].Tag != "v"+stack.SparkOperator.Version ||
				ups[0].URL != "https://github.com/kubeflow/spark-operator" || ups[0].Path != "./config/crd/bases" {
				t.Errorf("upstream CRDs: %+v", ups)
			}
		})
	}
}

// configMapProps reads the spark-defaults.conf of a ConfigMap.
func configMapProps(t *testing.T, s *stack.Set, namespace, name string) map[string]string {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, namespace, name)
	text, ok := cm.Data[spark.SparkDefaultsFile]
	if !ok {
		t.Fatalf("ConfigMap %s/%s has no %s", namespace, name, spark.SparkDefaultsFile)
	}
	return loadProperties(t, text)
}

// TestEventLogOneLocation proves that jobs write where the History Server
// reads, with the same S3 settings on both sides.
func TestEventLogOneLocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, dir, endpoint, region, pathStyle, ssl string
	}{
		{"staging", "s3a://spark-history/staging/spark-events/", "http://10.20.2.20", "us-east-1", "true", "false"},
		{"prod", "s3a://spark-history/prod/spark-events/", "http://10.20.2.20", "us-east-1", "true", "false"},
		{"cloud", "s3a://spark-history/spark-events/", "https://s3.eu-west-1.amazonaws.com", "eu-west-1", "false", "true"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, tc.env)
			s := generate(t, e)
			ns := spark.HistoryServerNamespace(e)
			want, err := spark.EventLogDir(e.Spark.HistoryServer.EventLog.Bucket, e.Spark.HistoryServer.EventLog.Prefix)
			if err != nil {
				t.Fatal(err)
			}
			if want != tc.dir {
				t.Errorf("EventLogDir = %q, want %q", want, tc.dir)
			}
			history := configMapProps(t, s, ns, spark.HistoryServerName)
			if got := history["spark.history.fs.logDirectory"]; got != want {
				t.Errorf("History Server reads %q, want %q", got, want)
			}
			sides := map[string]map[string]string{"history server": history}
			for _, jns := range append([]string{spark.OperatorNamespace(e)}, e.Spark.Operator.JobNamespaces...) {
				jobs := configMapProps(t, s, jns, spark.SparkDefaultsConfigMap)
				if got := jobs["spark.eventLog.dir"]; got != want {
					t.Errorf("jobs in %s write %q, want %q", jns, got, want)
				}
				if jobs["spark.eventLog.enabled"] != "true" {
					t.Errorf("jobs in %s: spark.eventLog.enabled = %q", jns, jobs["spark.eventLog.enabled"])
				}
				sides["jobs in "+jns] = jobs
			}
			wantS3 := map[string]string{
				"spark.hadoop.fs.s3a.endpoint":                 tc.endpoint,
				"spark.hadoop.fs.s3a.endpoint.region":          tc.region,
				"spark.hadoop.fs.s3a.path.style.access":        tc.pathStyle,
				"spark.hadoop.fs.s3a.connection.ssl.enabled":   tc.ssl,
				"spark.hadoop.fs.s3a.aws.credentials.provider": "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
			}
			for side, p := range sides {
				for k, v := range wantS3 {
					if p[k] != v {
						t.Errorf("%s: %s = %q, want %q", side, k, p[k], v)
					}
				}
			}
		})
	}
}

// TestCredentialsByReference: the S3 key pair reaches pods only as
// secretKeyRef environment variables, and Spark pods only through
// secretKeyRef settings naming the same Secret keys.
func TestCredentialsByReference(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	creds := e.Spark.HistoryServer.Credentials
	want := map[string]env.SecretRef{"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey}
	found := 0
	for _, r := range s.Resources() {
		if _, ok := r.Object.(*corev1.Secret); ok {
			t.Errorf("a Secret is rendered: %s", r.Object.GetName())
		}
		for _, c := range podContainers(r.Object) {
			for _, ev := range c.Env {
				ref, isCred := want[ev.Name]
				if !isCred {
					continue
				}
				found++
				sk := ev.ValueFrom
				if ev.Value != "" || sk == nil || sk.SecretKeyRef == nil || sk.SecretKeyRef.Name != ref.Secret || sk.SecretKeyRef.Key != ref.Key {
					t.Errorf("%s container %s: %s is not a secretKeyRef to %s/%s: %+v", r.Object.GetName(), c.Name, ev.Name, ref.Secret, ref.Key, ev)
				}
			}
		}
	}
	// The History Server and the bootstrap Job.
	if found != 4 {
		t.Errorf("%d credential variables, want 4", found)
	}
	for _, ns := range e.Spark.Operator.JobNamespaces {
		p := configMapProps(t, s, ns, spark.SparkDefaultsConfigMap)
		for _, role := range []string{"driver", "executor"} {
			for name, ref := range want {
				k := "spark.kubernetes." + role + ".secretKeyRef." + name
				if got := p[k]; got != ref.Secret+":"+ref.Key {
					t.Errorf("%s: %s = %q, want %s:%s", ns, k, got, ref.Secret, ref.Key)
				}
			}
		}
		for k := range p {
			if strings.Contains(strings.ToLower(k), "secret.key") || strings.Contains(strings.ToLower(k), "access.key") {
				t.Errorf("%s: a key property %s", ns, k)
			}
		}
	}
}

// podContainers returns the containers and init containers of a workload.
func podContainers(o stack.Object) []corev1.Container {
	var spec *corev1.PodSpec
	switch w := o.(type) {
	case *appsv1.Deployment:
		spec = &w.Spec.Template.Spec
	case *batchv1.Job:
		spec = &w.Spec.Template.Spec
	default:
		return nil
	}
	return append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
}

func TestWebhooksOnlyInJobNamespaces(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	jobs := e.Spark.Operator.JobNamespaces
	if !slices.Equal(jobs, []string{"spark", "spark-etl"}) {
		t.Fatalf("prod job namespaces %v", jobs)
	}
	check := func(kind, name string, sel *metav1.LabelSelector, fp *admissionregistrationv1.FailurePolicyType, svc *admissionregistrationv1.ServiceReference) {
		t.Helper()
		want := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kubernetes.io/metadata.name", Operator: "In", Values: jobs}}}
		if d := cmp.Diff(want, sel); d != "" {
			t.Errorf("%s %s namespaceSelector (-want +got):\n%s", kind, name, d)
		}
		if fp == nil || *fp != admissionregistrationv1.Fail {
			t.Errorf("%s %s: failurePolicy %v", kind, name, fp)
		}
		if svc == nil || svc.Name != spark.WebhookServiceName || svc.Namespace != spark.OperatorNamespace(e) || *svc.Port != spark.WebhookPort {
			t.Errorf("%s %s: service %+v", kind, name, svc)
		}
	}
	m := stacktest.FindNamed[*admissionregistrationv1.MutatingWebhookConfiguration](t, s, "", spark.WebhookName)
	if len(m.Webhooks) != 4 {
		t.Errorf("%d mutating webhooks, want 4", len(m.Webhooks))
	}
	for _, w := range m.Webhooks {
		check("mutating", w.Name, w.NamespaceSelector, w.FailurePolicy, w.ClientConfig.Service)
		isPods := slices.Contains(w.Rules[0].Resources, "pods")
		if isPods != (w.ObjectSelector != nil) {
			t.Errorf("%s: objectSelector %v", w.Name, w.ObjectSelector)
		}
		if isPods && w.ObjectSelector.MatchLabels["sparkoperator.k8s.io/launched-by-spark-operator"] != "true" {
			t.Errorf("%s: pod webhook sees pods not launched by the operator: %v", w.Name, w.ObjectSelector)
		}
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("%s: caBundle set; the webhook writes it", w.Name)
		}
	}
	v := stacktest.FindNamed[*admissionregistrationv1.ValidatingWebhookConfiguration](t, s, "", spark.WebhookName)
	if len(v.Webhooks) != 3 {
		t.Errorf("%d validating webhooks, want 3", len(v.Webhooks))
	}
	for _, w := range v.Webhooks {
		check("validating", w.Name, w.NamespaceSelector, w.FailurePolicy, w.ClientConfig.Service)
	}
	// The webhook must name the configurations it patches.
	args := containerArgs(t, s, spark.OperatorNamespace(e), spark.WebhookName)
	for _, a := range []string{
		"--mutating-webhook-name=" + spark.WebhookName, "--validating-webhook-name=" + spark.WebhookName,
		"--webhook-svc-name=" + spark.WebhookServiceName, "--webhook-svc-namespace=spark-operator",
		"--webhook-secret-name=" + spark.WebhookSecretName, "--webhook-secret-namespace=spark-operator",
		"--webhook-port=9443", "--namespaces=spark,spark-etl",
	} {
		if !slices.Contains(args, a) {
			t.Errorf("webhook args lack %s: %v", a, args)
		}
	}
}

func containerArgs(t *testing.T, s *stack.Set, namespace, deployment string) []string {
	t.Helper()
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, namespace, deployment)
	return d.Spec.Template.Spec.Containers[0].Args
}

func TestProd(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ns := spark.OperatorNamespace(e)

	ing := stacktest.FindNamed[*networkingv1.Ingress](t, s, ns, spark.HistoryServerName)
	if h := ing.Spec.Rules[0].Host; h != "spark-history.prod.data.example.com" {
		t.Errorf("History Server ingress host %q", h)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != e.Cluster.IngressClassName {
		t.Errorf("ingress class %v", ing.Spec.IngressClassName)
	}

	args := containerArgs(t, s, ns, spark.ControllerName)
	for _, a := range []string{
		"controller", "start", "--namespaces=spark,spark-etl", "--enable-ui-service=true",
		"--ingress-url-format={{$appName}}.spark.prod.data.example.com", "--ingress-class-name=nginx",
		"--enable-metrics=true", "--metrics-bind-address=:8080", "--metrics-labels=app_type,namespace",
		"--metrics-job-start-latency-buckets=30,60,90,120,150,180,210,240,270,300",
		"--leader-election=true", "--leader-election-lock-namespace=spark-operator",
		"--feature-gates=LoadSparkDefaults=true",
	} {
		if !slices.Contains(args, a) {
			t.Errorf("controller args lack %s: %v", a, args)
		}
	}

	for _, jns := range []string{"spark", "spark-etl"} {
		sa := stacktest.FindNamed[*corev1.ServiceAccount](t, s, jns, spark.SparkServiceAccount)
		if sa.AutomountServiceAccountToken == nil || !*sa.AutomountServiceAccountToken {
			t.Errorf("%s: driver ServiceAccount without token", jns)
		}
		role := stacktest.FindNamed[*rbacv1.Role](t, s, jns, spark.SparkServiceAccount)
		if r := role.Rules[0]; !slices.Equal(r.Resources, []string{"pods", "configmaps", "persistentvolumeclaims", "services"}) || !slices.Contains(r.Verbs, "deletecollection") {
			t.Errorf("%s: driver Role %+v", jns, r)
		}
		rb := stacktest.FindNamed[*rbacv1.RoleBinding](t, s, jns, spark.SparkServiceAccount)
		if rb.Subjects[0].Name != spark.SparkServiceAccount || rb.Subjects[0].Namespace != jns || rb.RoleRef.Name != spark.SparkServiceAccount {
			t.Errorf("%s: driver RoleBinding %+v", jns, rb)
		}
		crb := stacktest.FindNamed[*rbacv1.RoleBinding](t, s, jns, spark.ControllerName)
		if crb.Subjects[0].Namespace != ns {
			t.Errorf("%s: controller RoleBinding names %+v", jns, crb.Subjects)
		}
		stacktest.FindNamed[*rbacv1.Role](t, s, jns, spark.WebhookName)
		configMapProps(t, s, jns, spark.SparkDefaultsConfigMap)
	}

	// Layers: the controller's job-namespace Roles and its ConfigMap come
	// with it, the drivers' things after it.
	for _, r := range s.Resources() {
		kind := r.Object.GetObjectKind().GroupVersionKind().Kind
		name, rns := r.Object.GetName(), r.Object.GetNamespace()
		var want stack.Layer
		switch {
		case strings.HasPrefix(kind, "Pod") && kind != "PodDisruptionBudget", kind == "ServiceMonitor", kind == "PrometheusRule":
			want = stack.Content
		case name == spark.ControllerName || name == spark.WebhookName || name == spark.WebhookServiceName,
			name == spark.SparkDefaultsConfigMap && rns == ns:
			want = stack.Operators
		default:
			want = stack.Instances
		}
		if r.Layer != want {
			t.Errorf("%s %s/%s in layer %s, want %s", kind, rns, name, r.Layer, want)
		}
	}

	// Every alert routes by namespace.
	pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, ns, "spark")
	var alerts []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if !strings.Contains(r.Expr.String(), "by (namespace)") && r.Labels["namespace"] == "" {
				t.Errorf("%s has no namespace to route by", r.Alert)
			}
		}
	}
	wantAlerts := []string{"SparkOperatorControllerDown", "SparkOperatorWebhookDown", "SparkApplicationFailed",
		"SparkApplicationSubmissionFailed", "SparkApplicationsNotStarting", "SparkApplicationSlowStart",
		"SparkExecutorFailures", "SparkHistoryServerDown"}
	if d := cmp.Diff(wantAlerts, alerts); d != "" {
		t.Errorf("alerts (-want +got):\n%s", d)
	}
}

func TestBootstrapJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, url string }{
		{"prod", "http://10.20.2.20/spark-history/prod/spark-events/.keep"},
		{"staging", "http://10.20.2.20/spark-history/staging/spark-events/.keep"},
		{"cloud", "https://spark-history.s3.eu-west-1.amazonaws.com/spark-events/.keep"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, tc.env)
			s := generate(t, e)
			job := stacktest.FindNamed[*batchv1.Job](t, s, spark.HistoryServerNamespace(e), spark.BootstrapJobName)
			if job.Spec.TTLSecondsAfterFinished == nil || job.Spec.BackoffLimit == nil {
				t.Error("Job without ttlSecondsAfterFinished or backoffLimit")
			}
			c := job.Spec.Template.Spec.Containers[0]
			vars := map[string]string{}
			for _, ev := range c.Env {
				vars[ev.Name] = ev.Value
			}
			if vars["OBJECT_URL"] != tc.url {
				t.Errorf("OBJECT_URL %q, want %q", vars["OBJECT_URL"], tc.url)
			}
			if s3, _ := e.S3(e.Spark.HistoryServer.S3); vars["S3_REGION"] != s3.Region {
				t.Errorf("S3_REGION %q", vars["S3_REGION"])
			}
			script := c.Command[2]
			for _, want := range []string{`--head "$OBJECT_URL"`, `-X PUT`, `--aws-sigv4 "aws:amz:$S3_REGION:s3"`, "--expand-user"} {
				if !strings.Contains(script, want) {
					t.Errorf("script lacks %s:\n%s", want, script)
				}
			}
			if strings.Contains(script, "--cacert") {
				t.Error("--cacert without a CA bundle")
			}
		})
	}
}

// TestPrivateCA: an https endpoint with a CA bundle makes the History
// Server trust it through a trust store, and the bootstrap Job through
// --cacert.
func TestPrivateCA(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "staging")
	ca := &env.SecretRef{Secret: "flashblade-ca", Key: "ca.pem"}
	e.Spark.HistoryServer.S3 = &env.S3Endpoint{Endpoint: "https://s3.fb.example.com", Region: "fb", PathStyle: true, CABundle: ca, PrivateCA: true}
	s := generate(t, e)
	stacktest.Check(t, s)
	ns := spark.HistoryServerNamespace(e)

	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, spark.HistoryServerName)
	spec := d.Spec.Template.Spec
	var names []string
	for _, c := range spec.InitContainers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"fetch-s3a-jars", "truststore"}) {
		t.Errorf("init containers %v", names)
	}
	if !hasSecretVolume(spec.Volumes, ca) {
		t.Errorf("no volume of Secret %s key %s: %+v", ca.Secret, ca.Key, spec.Volumes)
	}
	opts := ""
	for _, ev := range spec.Containers[0].Env {
		if ev.Name == "SPARK_HISTORY_OPTS" {
			opts = ev.Value
		}
	}
	if !strings.Contains(opts, "-Djavax.net.ssl.trustStore=/opt/vigil/truststore/cacerts") {
		t.Errorf("SPARK_HISTORY_OPTS %q", opts)
	}
	p := configMapProps(t, s, ns, spark.HistoryServerName)
	if p["spark.hadoop.fs.s3a.connection.ssl.enabled"] != "true" || p["spark.hadoop.fs.s3a.endpoint"] != "https://s3.fb.example.com" {
		t.Errorf("S3A TLS settings: %v", p)
	}

	job := stacktest.FindNamed[*batchv1.Job](t, s, ns, spark.BootstrapJobName)
	if !strings.Contains(job.Spec.Template.Spec.Containers[0].Command[2], "--cacert /etc/vigil/s3-ca/ca.crt") {
		t.Error("bootstrap Job does not trust the CA")
	}
	if !hasSecretVolume(job.Spec.Template.Spec.Volumes, ca) {
		t.Error("bootstrap Job does not mount the CA")
	}
}

func hasSecretVolume(vs []corev1.Volume, ref *env.SecretRef) bool {
	for _, v := range vs {
		if v.Secret != nil && v.Secret.SecretName == ref.Secret && len(v.Secret.Items) == 1 && v.Secret.Items[0].Key == ref.Key {
			return true
		}
	}
	return false
}

func TestHistoryServer(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ns := spark.HistoryServerNamespace(e)
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, spark.HistoryServerName)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if c.Image != "docker.io/apache/spark:"+e.Spark.Version {
		t.Errorf("image %s, want apache/spark at spark.version %s", c.Image, e.Spark.Version)
	}
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if !slices.Equal(c.Command[:2], []string{"/opt/spark/bin/spark-class", "org.apache.spark.deploy.history.HistoryServer"}) {
		t.Errorf("command %v", c.Command)
	}
	if *spec.SecurityContext.RunAsUser != 185 || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("pod security %+v", spec.SecurityContext)
	}
	env := map[string]string{}
	for _, ev := range c.Env {
		env[ev.Name] = ev.Value
	}
	// 1Gi limit → 768 MiB of heap.
	if env["SPARK_DAEMON_MEMORY"] != "768m" || env["SPARK_DIST_CLASSPATH"] != "/opt/vigil/jars/*" {
		t.Errorf("env %v", env)
	}
	fetch := spec.InitContainers[0]
	if !slices.Equal(fetch.Args, []string{
		"https://repo1.maven.org/maven2/org/apache/hadoop/hadoop-aws/3.4.1/hadoop-aws-3.4.1.jar",
		"https://repo1.maven.org/maven2/software/amazon/awssdk/bundle/2.24.6/bundle-2.24.6.jar",
	}) {
		t.Errorf("jars %v", fetch.Args)
	}
	if !strings.Contains(fetch.Command[2], `"$url.sha1"`) || !strings.Contains(fetch.Command[2], "sha1sum") {
		t.Errorf("jar download is not checked:\n%s", fetch.Command[2])
	}
	p := configMapProps(t, s, ns, spark.HistoryServerName)
	for k, v := range map[string]string{
		"spark.history.fs.cleaner.enabled":                 "true",
		"spark.history.fs.cleaner.maxAge":                  "30d",
		"spark.history.store.path":                         "/var/lib/spark-history",
		"spark.history.ui.port":                            "18080",
		"spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
	} {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	if d.Spec.Template.Annotations["vigil.dev/config-sha256"] == "" {
		t.Error("no checksum of the configuration on the pod template")
	}
	sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, ns, spark.HistoryServerName)
	if ep := sm.Spec.Endpoints[0]; ep.Path != spark.PrometheusPath || ep.Port != "http" {
		t.Errorf("ServiceMonitor endpoint %+v", ep)
	}
	stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, ns, spark.HistoryServerName)
}

// TestHistoryDisabled: no History Server, no bootstrap, no event log
// settings; the operator is unchanged.
func TestHistoryDisabled(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dev", "prod"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			e.Spark.HistoryServer.Enabled = false
			s := generate(t, e)
			stacktest.Check(t, s)
			for _, r := range s.Resources() {
				n := r.Object.GetName()
				if n == spark.HistoryServerName || n == spark.BootstrapJobName {
					t.Errorf("%T %s rendered with the History Server off", r.Object, n)
				}
				if pr, ok := r.Object.(*monitoringv1.PrometheusRule); ok {
					for _, g := range pr.Spec.Groups {
						if g.Name == "spark-history-server" {
							t.Error("History Server alerts with the History Server off")
						}
					}
				}
			}
			stacktest.FindNamed[*appsv1.Deployment](t, s, spark.OperatorNamespace(e), spark.ControllerName)
			for _, ns := range e.Spark.Operator.JobNamespaces {
				p := configMapProps(t, s, ns, spark.SparkDefaultsConfigMap)
				for k := range p {
					if strings.HasPrefix(k, "spark.eventLog") || strings.HasPrefix(k, "spark.hadoop.fs.s3a") || strings.Contains(k, "secretKeyRef") {
						t.Errorf("%s: %s without the History Server", ns, k)
					}
				}
				if p["spark.ui.prometheus.enabled"] != "true" {
					t.Errorf("%s: native metrics off", ns)
				}
			}
		})
	}
}

func TestSparkDisabled(t *testing.T) {
	t.Parallel()
	e := stacktest.Example(t, "prod")
	e.Spark.Enabled = false
	s := generate(t, e)
	if len(s.Resources()) != 0 || len(s.Upstreams()) != 0 {
		t.Errorf("%d objects and %d upstreams with Spark disabled", len(s.Resources()), len(s.Upstreams()))
	}
}

func TestOptionalParts(t *testing.T) {
	t.Parallel()
	t.Run("no monitoring", func(t *testing.T) {
		t.Parallel()
		e := stacktest.Example(t, "prod")
		e.Monitoring.Enabled = false
		s := generate(t, e)
		stacktest.Check(t, s)
		for _, r := range s.Resources() {
			if g := r.Object.GetObjectKind().GroupVersionKind().Group; g == monitoringv1.SchemeGroupVersion.Group {
				t.Errorf("%T %s without the Prometheus Operator", r.Object, r.Object.GetName())
			}
		}
		np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, "spark-operator", spark.ControllerName)
		if len(np.Spec.Ingress) != 0 {
			t.Errorf("controller reachable with nothing to scrape it: %+v", np.Spec.Ingress)
		}
	})
	t.Run("no webhook", func(t *testing.T) {
		t.Parallel()
		e := stacktest.Example(t, "prod")
		e.Spark.Operator.Webhook = false
		s := generate(t, e)
		stacktest.Check(t, s)
		for _, r := range s.Resources() {
			if n := r.Object.GetName(); n == spark.WebhookName || n == spark.WebhookServiceName {
				t.Errorf("%T %s/%s without the webhook", r.Object, r.Object.GetNamespace(), n)
			}
		}
	})
	t.Run("no operator metrics", func(t *testing.T) {
		t.Parallel()
		e := stacktest.Example(t, "prod")
		e.Spark.Operator.Metrics = false
		s := generate(t, e)
		stacktest.Check(t, s)
		for _, a := range containerArgs(t, s, "spark-operator", spark.ControllerName) {
			if strings.HasPrefix(a, "--metrics") || strings.HasPrefix(a, "--enable-metrics") {
				t.Errorf("controller arg %s with metrics off", a)
			}
		}
		for _, pm := range stacktest.Find[*monitoringv1.PodMonitor](s) {
			if pm.Name != "spark-driver" {
				t.Errorf("PodMonitor %s with operator metrics off", pm.Name)
			}
		}
		pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, "spark-operator", "spark")
		if len(pr.Spec.Groups) != 1 || pr.Spec.Groups[0].Name != "spark-history-server" {
			t.Errorf("rule groups %+v", pr.Spec.Groups)
		}
	})
	t.Run("no UI service", func(t *testing.T) {
		t.Parallel()
		e := stacktest.Example(t, "staging")
		e.Spark.UI.Service = false
		s := generate(t, e)
		args := containerArgs(t, s, "spark-operator", spark.ControllerName)
		if !slices.Contains(args, "--enable-ui-service=false") {
			t.Errorf("args %v", args)
		}
		for _, a := range args {
			if strings.HasPrefix(a, "--ingress") {
				t.Errorf("%s without an ingress URL format", a)
			}
		}
	})
	t.Run("spark 3.5", func(t *testing.T) {
		t.Parallel()
		e := stacktest.Example(t, "prod")
		e.Spark.Version = "3.5.8"
		s := generate(t, e)
		stacktest.Check(t, s)
		d := stacktest.FindNamed[*appsv1.Deployment](t, s, "spark-operator", spark.HistoryServerName)
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "docker.io/apache/spark:3.5.8" {
			t.Errorf("image %s", img)
		}
		if args := d.Spec.Template.Spec.InitContainers[0].Args; !slices.Equal(args, []string{
			"https://repo1.maven.org/maven2/org/apache/hadoop/hadoop-aws/3.3.4/hadoop-aws-3.3.4.jar",
			"https://repo1.maven.org/maven2/com/amazonaws/aws-java-sdk-bundle/1.12.262/aws-java-sdk-bundle-1.12.262.jar",
		}) {
			t.Errorf("jars %v", args)
		}
		p := configMapProps(t, s, "spark", spark.SparkDefaultsConfigMap)
		if got := p["spark.hadoop.fs.s3a.aws.credentials.provider"]; got != "com.amazonaws.auth.EnvironmentVariableCredentialsProvider" {
			t.Errorf("SDK v1 credentials provider %q", got)
		}
	})
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*env.Environment)
		want   string
	}{
		{"no job namespaces", func(e *env.Environment) { e.Spark.Operator.JobNamespaces = nil }, "jobNamespaces is empty"},
		{"ingress without service", func(e *env.Environment) { e.Spark.UI.Service = false }, "needs spark.ui.service"},
		{"unpinned spark", func(e *env.Environment) { e.Spark.Version = "4.0.99" }, "no pinned apache/spark image"},
		{"unknown line", func(e *env.Environment) { e.Spark.Version = "3.4.4" }, "knows the S3A jars"},
		{"dot segment", func(e *env.Environment) { e.Spark.HistoryServer.EventLog.Prefix = "a/../b" }, `".." segment`},
		{"tiny heap", func(e *env.Environment) { e.Spark.HistoryServer.Resources.Limits.Memory = "256Mi" }, "at least 512Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, "prod")
			tc.change(e)
			var s stack.Set
			err := spark.Generate(e, &s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
