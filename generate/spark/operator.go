package spark

import (
	"fmt"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Operator parts, as the chart's app.kubernetes.io/component values.
const (
	partController = "controller"
	partWebhook    = "webhook"
)

// Operator settings that are not in the environment; the values are the
// chart's (values.yaml of v2.5.2) unless a comment says why not.
const (
	probePort = 8081
	// sparkConfDir is where the controller finds jobDefaults: Spark's own
	// default conf directory in the image ($SPARK_HOME/conf), also named
	// by SPARK_CONF_DIR.
	sparkConfDir = "/opt/spark/conf"
	// webhookCertDir is the webhook's --webhook-cert-dir default, where it
	// writes the certificate it generates.
	webhookCertDir = "/etc/k8s-webhook-server/serving-certs"
	// startLatencyLimit is the top bucket of the start latency histogram
	// (seconds), which the slow start alert compares against.
	startLatencyLimit = 300
)

// startLatencyBuckets are the chart's --metrics-job-start-latency-buckets;
// their last bound must be startLatencyLimit.
var startLatencyBuckets = []int{30, 60, 90, 120, 150, 180, 210, 240, 270, startLatencyLimit}

func (g *generator) operatorLabels(part string) map[string]string {
	return stack.Labels(OperatorName, part, stack.SparkOperator.Version)
}

// operator adds the controller and webhook with their RBAC, the webhook
// configurations and network policies (layer Operators), and the
// controller's Role in each job namespace, which it needs before it can
// start: its informers watch the job namespaces.
func (g *generator) operator(s *stack.Set) error {
	res, err := g.e.Spark.Operator.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("spark.operator.%w", err)
	}
	defaultsConf := g.defaults.Encode()
	s.Add(Component, stack.Operators,
		&corev1.ServiceAccount{ObjectMeta: meta(ControllerName, g.ns, g.operatorLabels(partController)), AutomountServiceAccountToken: ptr.To(true)},
		&corev1.ConfigMap{
			ObjectMeta: meta(SparkDefaultsConfigMap, g.ns, g.operatorLabels(partController)),
			Data:       map[string]string{SparkDefaultsFile: defaultsConf},
		},
		&rbacv1.ClusterRole{
			ObjectMeta: meta(ControllerName, "", g.operatorLabels(partController)),
			// With explicit job namespaces the chart grants only this
			// cluster-wide; everything else is per namespace.
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get"}}},
		},
		clusterRoleBinding(ControllerName, g.ns, g.operatorLabels(partController)),
		&rbacv1.Role{
			ObjectMeta: meta(ControllerName, g.ns, g.operatorLabels(partController)),
			Rules: append(leaderElectionRules(ControllerName+"-lock"),
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}}),
		},
		roleBinding(ControllerName, g.ns, ControllerName, g.ns, g.operatorLabels(partController)),
		g.controllerDeployment(res, defaultsConf),
		g.networkPolicy(partController, nil),
	)
	for _, ns := range g.e.Spark.Operator.JobNamespaces {
		s.Add(Component, stack.Operators,
			&rbacv1.Role{ObjectMeta: meta(ControllerName, ns, g.operatorLabels(partController)), Rules: controllerJobRules()},
			roleBinding(ControllerName, ns, ControllerName, g.ns, g.operatorLabels(partController)),
		)
	}
	if !g.e.Spark.Operator.Webhook {
		return nil
	}
	s.Add(Component, stack.Operators,
		&corev1.ServiceAccount{ObjectMeta: meta(WebhookName, g.ns, g.operatorLabels(partWebhook)), AutomountServiceAccountToken: ptr.To(true)},
		&rbacv1.ClusterRole{
			ObjectMeta: meta(WebhookName, "", g.operatorLabels(partWebhook)),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, Verbs: []string{"list", "watch"}},
				// To write its CA into caBundle.
				{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, ResourceNames: []string{WebhookName}, Verbs: []string{"get", "update"}},
			},
		},
		clusterRoleBinding(WebhookName, g.ns, g.operatorLabels(partWebhook)),
		&rbacv1.Role{
			ObjectMeta: meta(WebhookName, g.ns, g.operatorLabels(partWebhook)),
			Rules: append([]rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}},
				// The webhook generates its certificate and keeps it in
				// this Secret.
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{WebhookSecretName}, Verbs: []string{"get", "update"}},
			}, leaderElectionRules(WebhookName+"-lock")...),
		},
		roleBinding(WebhookName, g.ns, WebhookName, g.ns, g.operatorLabels(partWebhook)),
		&corev1.Service{
			ObjectMeta: meta(WebhookServiceName, g.ns, g.operatorLabels(partWebhook)),
			Spec: corev1.ServiceSpec{
				Selector: stack.SelectorLabels(OperatorName, partWebhook),
				Ports:    []corev1.ServicePort{{Name: "webhook", Port: WebhookPort, TargetPort: intstr.FromString("webhook"), Protocol: corev1.ProtocolTCP}},
			},
		},
		g.webhookDeployment(res),
		g.mutatingWebhooks(),
		g.validatingWebhooks(),
		g.networkPolicy(partWebhook, []networkingv1.NetworkPolicyPort{tcpPort(WebhookPort)}),
	)
	for _, ns := range g.e.Spark.Operator.JobNamespaces {
		s.Add(Component, stack.Operators,
			&rbacv1.Role{ObjectMeta: meta(WebhookName, ns, g.operatorLabels(partWebhook)), Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"list"}},
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}},
				{APIGroups: []string{"sparkoperator.k8s.io"}, Resources: []string{"sparkapplications", "scheduledsparkapplications"}, Verbs: []string{"get", "list", "watch"}},
			}},
			roleBinding(WebhookName, ns, WebhookName, g.ns, g.operatorLabels(partWebhook)),
		)
	}
	return nil
}

// controllerJobRules is what the controller may do in a job namespace (the
// chart's spark-operator.controller.policyRules, without the batch
// scheduler's podgroups: Vigil does not enable one).
func controllerJobRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}},
		{APIGroups: []string{"extensions", "networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "create", "update", "delete"}},
		{APIGroups: []string{"sparkoperator.k8s.io"}, Resources: []string{"sparkapplications"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{APIGroups: []string{"sparkoperator.k8s.io"}, Resources: []string{"scheduledsparkapplications", "sparkconnects"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"sparkoperator.k8s.io"}, Resources: []string{"sparkapplications/status", "sparkconnects/status", "scheduledsparkapplications/status"}, Verbs: []string{"update"}},
		{APIGroups: []string{"sparkoperator.k8s.io"}, Resources: []string{"sparkapplications/finalizers", "scheduledsparkapplications/finalizers", "sparkconnects/finalizers"}, Verbs: []string{"update"}},
	}
}

// leaderElectionRules let a component create its Lease and hold only the
// one named lock.
func leaderElectionRules(lock string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{lock}, Verbs: []string{"get", "update"}},
	}
}

func clusterRoleBinding(name, saNamespace string, l map[string]string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(name, "", l),
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: saNamespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
	}
}

// roleBinding binds the Role name in namespace to the ServiceAccount
// sa in saNamespace.
func roleBinding(name, namespace, sa, saNamespace string, l map[string]string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: meta(name, namespace, l),
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: saNamespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
	}
}

// commonArgs are the flags the controller and the webhook share.
func (g *generator) commonArgs() []string {
	return []string{
		"--zap-log-level=info",
		// JSON, so that the log pipeline indexes fields rather than lines.
		"--zap-encoder=json",
		"--namespaces=" + strings.Join(g.e.Spark.Operator.JobNamespaces, ","),
	}
}

func (g *generator) metricsArgs(labels string) []string {
	if !g.e.Spark.Operator.Metrics {
		return nil
	}
	return []string{
		"--enable-metrics=true",
		"--metrics-bind-address=:" + strconv.Itoa(MetricsPort),
		"--metrics-endpoint=/metrics",
		"--metrics-labels=" + labels,
	}
}

func (g *generator) controllerArgs() []string {
	ui := g.e.Spark.UI
	args := append([]string{"controller", "start"}, g.commonArgs()...)
	args = append(args,
		"--controller-threads=10",
		"--enable-ui-service="+strconv.FormatBool(ui.Service),
	)
	if ui.IngressURLFormat != "" {
		args = append(args,
			"--ingress-url-format="+ui.IngressURLFormat,
			"--ingress-class-name="+g.e.Cluster.IngressClassName,
		)
	}
	// "namespace" is a special metrics label: the operator fills it with
	// the application's namespace, so that alerts route by job namespace.
	args = append(args, g.metricsArgs("app_type,namespace")...)
	if g.e.Spark.Operator.Metrics {
		b := make([]string, len(startLatencyBuckets))
		for i, v := range startLatencyBuckets {
			b[i] = strconv.Itoa(v)
		}
		args = append(args, "--metrics-job-start-latency-buckets="+strings.Join(b, ","))
	}
	return append(args,
		"--leader-election=true",
		"--leader-election-lock-name="+ControllerName+"-lock",
		"--leader-election-lock-namespace="+g.ns,
		"--workqueue-ratelimiter-bucket-qps=50",
		"--workqueue-ratelimiter-bucket-size=500",
		"--workqueue-ratelimiter-max-delay=6h",
		// Every spark-submit also reads $SPARK_CONF_DIR/spark-defaults.conf
		// (jobDefaults), which is how jobs get the event log and metrics
		// settings without repeating them in each SparkApplication.
		"--feature-gates=LoadSparkDefaults=true",
	)
}

func (g *generator) webhookArgs() []string {
	args := append([]string{"webhook", "start"}, g.commonArgs()...)
	args = append(args,
		"--webhook-secret-name="+WebhookSecretName,
		"--webhook-secret-namespace="+g.ns,
		"--webhook-svc-name="+WebhookServiceName,
		"--webhook-svc-namespace="+g.ns,
		"--webhook-port="+strconv.Itoa(WebhookPort),
		"--mutating-webhook-name="+WebhookName,
		"--validating-webhook-name="+WebhookName,
	)
	args = append(args, g.metricsArgs("app_type")...)
	return append(args,
		"--leader-election=true",
		"--leader-election-lock-name="+WebhookName+"-lock",
		"--leader-election-lock-namespace="+g.ns,
	)
}

func probes(c *corev1.Container) {
	get := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(probePort), Scheme: corev1.URISchemeHTTP}}}
	}
	c.LivenessProbe, c.ReadinessProbe = get("/healthz"), get("/readyz")
}

func (g *generator) operatorDeployment(part string, c corev1.Container, volumes []corev1.Volume, annotations map[string]string) *appsv1.Deployment {
	if g.e.Spark.Operator.Metrics {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP})
	}
	probes(&c)
	c.SecurityContext = restricted()
	name := ControllerName
	if part == partWebhook {
		name = WebhookName
	}
	return &appsv1.Deployment{
		ObjectMeta: meta(name, g.ns, g.operatorLabels(part)),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: stack.SelectorLabels(OperatorName, part)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: g.operatorLabels(part), Annotations: annotations},
				Spec: corev1.PodSpec{
					ServiceAccountName:           name,
					AutomountServiceAccountToken: ptr.To(true),
					SecurityContext:              podSecurity(sparkUID, sparkUID),
					Containers:                   []corev1.Container{c},
					Volumes:                      volumes,
				},
			},
		},
	}
}

func (g *generator) controllerDeployment(res corev1.ResourceRequirements, defaultsConf string) *appsv1.Deployment {
	return g.operatorDeployment(partController, corev1.Container{
		Name:      ControllerName,
		Image:     stack.SparkOperator.Ref(),
		Args:      g.controllerArgs(),
		Env:       []corev1.EnvVar{{Name: "SPARK_CONF_DIR", Value: sparkConfDir}},
		Resources: res,
		VolumeMounts: []corev1.VolumeMount{
			// spark-submit writes pod templates and scratch files here.
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "spark-conf", MountPath: sparkConfDir, ReadOnly: true},
		},
	}, []corev1.Volume{emptyDir("tmp", "1Gi"), configMapVolume("spark-conf", SparkDefaultsConfigMap)},
		map[string]string{checksumAnnotation: checksum(defaultsConf)})
}

func (g *generator) webhookDeployment(res corev1.ResourceRequirements) *appsv1.Deployment {
	c := corev1.Container{
		Name:         WebhookName,
		Image:        stack.SparkOperator.Ref(),
		Args:         g.webhookArgs(),
		Ports:        []corev1.ContainerPort{{Name: "webhook", ContainerPort: WebhookPort, Protocol: corev1.ProtocolTCP}},
		Resources:    res,
		VolumeMounts: []corev1.VolumeMount{{Name: "serving-certs", MountPath: webhookCertDir}},
	}
	return g.operatorDeployment(partWebhook, c, []corev1.Volume{emptyDir("serving-certs", "16Mi")}, nil)
}

// jobNamespaceSelector limits a webhook to the job namespaces, so that a
// webhook outage (failurePolicy Fail) never blocks pods elsewhere.
func (g *generator) jobNamespaceSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key:      corev1.LabelMetadataName,
		Operator: metav1.LabelSelectorOpIn,
		Values:   append([]string(nil), g.e.Spark.Operator.JobNamespaces...),
	}}}
}

// webhookRule is one admission rule of the webhooks.
type webhookRule struct {
	name, path          string
	group, version, res string
	operations          []admissionregistrationv1.OperationType
	// podsOnly limits the pod webhook to the operator's Spark pods.
	podsOnly bool
}

var createUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}

// The webhooks of the chart's webhook configurations (v2.5.2).
var (
	mutatingRules = []webhookRule{
		{"mutate--v1-pod.sparkoperator.k8s.io", "/mutate--v1-pod", "", "v1", "pods", []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, true},
		{"mutate-sparkoperator-k8s-io-v1beta2-sparkapplication.sparkoperator.k8s.io", "/mutate-sparkoperator-k8s-io-v1beta2-sparkapplication", "sparkoperator.k8s.io", "v1beta2", "sparkapplications", createUpdate, false},
		{"mutate-sparkoperator-k8s-io-v1beta2-scheduledsparkapplication.sparkoperator.k8s.io", "/mutate-sparkoperator-k8s-io-v1beta2-scheduledsparkapplication", "sparkoperator.k8s.io", "v1beta2", "scheduledsparkapplications", createUpdate, false},
		{"mutate-sparkoperator-k8s-io-v1alpha1-sparkconnect.sparkoperator.k8s.io", "/mutate-sparkoperator-k8s-io-v1alpha1-sparkconnect", "sparkoperator.k8s.io", "v1alpha1", "sparkconnects", createUpdate, false},
	}
	validatingRules = []webhookRule{
		{"validate-sparkoperator-k8s-io-v1beta2-sparkapplication.sparkoperator.k8s.io", "/validate-sparkoperator-k8s-io-v1beta2-sparkapplication", "sparkoperator.k8s.io", "v1beta2", "sparkapplications", createUpdate, false},
		{"validate-sparkoperator-k8s-io-v1beta2-scheduledsparkapplication.sparkoperator.k8s.io", "/validate-sparkoperator-k8s-io-v1beta2-scheduledsparkapplication", "sparkoperator.k8s.io", "v1beta2", "scheduledsparkapplications", createUpdate, false},
		{"validate-sparkoperator-k8s-io-v1alpha1-sparkconnect.sparkoperator.k8s.io", "/validate-sparkoperator-k8s-io-v1alpha1-sparkconnect", "sparkoperator.k8s.io", "v1alpha1", "sparkconnects", createUpdate, false},
	}
)

// launchedBySparkOperator is the label the operator puts on the driver and
// executor pods it creates; the pod webhook sees only those.
const launchedBySparkOperator = "sparkoperator.k8s.io/launched-by-spark-operator"

// webhookParts are the fields every webhook shares. caBundle is left
// empty: the webhook writes its self-generated CA there at start, and since
// Vigil never sets the field, Flux's server-side apply leaves it alone.
func (g *generator) webhookParts(r webhookRule) (admissionregistrationv1.WebhookClientConfig, []admissionregistrationv1.RuleWithOperations, *metav1.LabelSelector) {
	cc := admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
		Name: WebhookServiceName, Namespace: g.ns, Path: ptr.To(r.path), Port: ptr.To[int32](WebhookPort),
	}}
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: r.operations,
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{r.group}, APIVersions: []string{r.version}, Resources: []string{r.res}},
	}}
	var objects *metav1.LabelSelector
	if r.podsOnly {
		objects = &metav1.LabelSelector{MatchLabels: map[string]string{launchedBySparkOperator: "true"}}
	}
	return cc, rules, objects
}

func (g *generator) mutatingWebhooks() *admissionregistrationv1.MutatingWebhookConfiguration {
	out := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: meta(WebhookName, "", g.operatorLabels(partWebhook))}
	for _, r := range mutatingRules {
		cc, rules, objects := g.webhookParts(r)
		out.Webhooks = append(out.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name: r.name, ClientConfig: cc, Rules: rules, ObjectSelector: objects,
			NamespaceSelector:       g.jobNamespaceSelector(),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](10),
		})
	}
	return out
}

func (g *generator) validatingWebhooks() *admissionregistrationv1.ValidatingWebhookConfiguration {
	out := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: meta(WebhookName, "", g.operatorLabels(partWebhook))}
	for _, r := range validatingRules {
		cc, rules, objects := g.webhookParts(r)
		out.Webhooks = append(out.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name: r.name, ClientConfig: cc, Rules: rules, ObjectSelector: objects,
			NamespaceSelector:       g.jobNamespaceSelector(),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](10),
		})
	}
	return out
}

func tcpPort(port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt(port))}
}

// networkPolicy admits to an operator pod only open (the webhook port,
// which the API server calls from addresses no selector can name) and the
// metrics port from the monitoring namespace. The kubelet's probes are
// always allowed.
func (g *generator) networkPolicy(part string, open []networkingv1.NetworkPolicyPort) *networkingv1.NetworkPolicy {
	name := ControllerName
	if part == partWebhook {
		name = WebhookName
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(name, g.ns, g.operatorLabels(part)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: stack.SelectorLabels(OperatorName, part)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{},
		},
	}
	if len(open) > 0 {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: open})
	}
	if g.e.Spark.Operator.Metrics && g.e.Monitoring.Enabled {
		np.Spec.Ingress = append(np.Spec.Ingress, g.fromMonitoring(MetricsPort))
	}
	return np
}

// fromMonitoring admits Prometheus (any pod of the monitoring namespace) to
// a port.
func (g *generator) fromMonitoring(port int) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{
		From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{corev1.LabelMetadataName: g.e.Monitoring.Namespace},
		}}},
		Ports: []networkingv1.NetworkPolicyPort{tcpPort(port)},
	}
}
