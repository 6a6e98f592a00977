package thanos

import (
	"fmt"
	"path"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
)

const (
	partSidecar = "sidecar"
	partStore   = "store-gateway"
	partCompact = "compactor"
	partQuery   = "querier"

	dataDir      = "/var/thanos/data"
	endpointsDir = "/etc/thanos/endpoints"
	endpointsKey = "endpoints.yaml"
)

// Peers of the NetworkPolicies.
var (
	prometheusPods = prometheusoperator.PrometheusPodSelector("")
	grafanaPods    = map[string]string{stack.LabelName: "grafana"}
)

func addr(port int) string { return "0.0.0.0:" + strconv.Itoa(port) }

// common are the flags every server component takes (cmd/thanos/config.go
// grpcConfig and httpConfig, main.go log.format).
func serverFlags(grpc bool) []string {
	f := []string{"--http-address=" + addr(HTTPPort), "--log.format=logfmt"}
	if grpc {
		f = append(f, "--grpc-address="+addr(GRPCPort))
	}
	return f
}

func ports(grpc bool) []corev1.ContainerPort {
	p := []corev1.ContainerPort{{Name: HTTPPortName, ContainerPort: HTTPPort, Protocol: corev1.ProtocolTCP}}
	if grpc {
		p = append(p, corev1.ContainerPort{Name: GRPCPortName, ContainerPort: GRPCPort, Protocol: corev1.ProtocolTCP})
	}
	return p
}

func servicePorts(grpc bool) []corev1.ServicePort {
	p := []corev1.ServicePort{{Name: HTTPPortName, Port: HTTPPort, TargetPort: intstr.FromString(HTTPPortName), Protocol: corev1.ProtocolTCP}}
	if grpc {
		p = append(p, corev1.ServicePort{Name: GRPCPortName, Port: GRPCPort, TargetPort: intstr.FromString(GRPCPortName), Protocol: corev1.ProtocolTCP})
	}
	return p
}

func probe(p string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p, Port: intstr.FromString(HTTPPortName)}},
		PeriodSeconds:    10,
		FailureThreshold: 6,
	}
}

// container is one Thanos container of the restricted profile.
func container(name string, args []string, grpc bool, res corev1.ResourceRequirements, mounts []corev1.VolumeMount, envs []corev1.EnvVar) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           stack.Thanos.Ref(),
		Args:            args,
		Env:             envs,
		Ports:           ports(grpc),
		Resources:       res,
		SecurityContext: stack.RestrictedContainer(),
		ReadinessProbe:  probe("/-/ready"),
		LivenessProbe:   probe("/-/healthy"),
		VolumeMounts:    mounts,
	}
}

func podSpec(c corev1.Container, vols []corev1.Volume, affinity *corev1.Affinity) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName:           serviceAccount,
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(int64(uid)),
			RunAsGroup:     ptr.To(int64(uid)),
			FSGroup:        ptr.To(int64(uid)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
		Containers:   []corev1.Container{c},
		Volumes:      vols,
		Affinity:     affinity,
	}
}

// spread keeps replicas of one part on different nodes when it can.
func spread(part string, replicas int) *corev1.Affinity {
	if replicas < 2 {
		return nil
	}
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   corev1.LabelHostname,
				LabelSelector: &metav1.LabelSelector{MatchLabels: selector(part)},
			},
		}},
	}}
}

func claim(v env.Volume, part, field string) (corev1.PersistentVolumeClaim, error) {
	size, err := resource.ParseQuantity(v.Size)
	if err != nil {
		return corev1.PersistentVolumeClaim{}, fmt.Errorf("%s.storage.size: %w", field, err)
	}
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: selector(part)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(env.StorageClassName(v.Role)),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}, nil
}

func pdb(name, ns, part string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: meta(name, ns, labels(part)),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: selector(part)},
		},
	}
}

func tcp(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(port))}
}

func pods(m map[string]string) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: m}}}
}

// ingressPolicy admits the StoreAPI from the querier and the HTTP port from
// Prometheus (metrics) and the given extra peers. Egress stays open: the
// components reach S3, whose address is outside the cluster.
func ingressPolicy(name, ns, part string, podSel map[string]string, grpc bool, httpFrom ...map[string]string) *networkingv1.NetworkPolicy {
	rules := []networkingv1.NetworkPolicyIngressRule{{From: pods(prometheusPods), Ports: []networkingv1.NetworkPolicyPort{tcp(HTTPPort)}}}
	for _, f := range httpFrom {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{From: pods(f), Ports: []networkingv1.NetworkPolicyPort{tcp(HTTPPort)}})
	}
	if grpc {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{From: pods(selector(partQuery)), Ports: []networkingv1.NetworkPolicyPort{tcp(GRPCPort)}})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta(name, ns, labels(part)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: podSel},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}

// sidecarObjects are the headless Service the querier discovers the
// sidecars through, and a NetworkPolicy admitting the sidecar's ports on
// the Prometheus pods (policies add up: Prometheus's own admits its ports).
func sidecarObjects(e *env.Environment) []stack.Object {
	ns := e.Monitoring.Namespace
	return []stack.Object{
		&corev1.Service{
			ObjectMeta: meta(SidecarService, ns, labels(partSidecar)),
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  prometheusPods,
				Ports:     servicePorts(true),
			},
		},
		ingressPolicy(SidecarService, ns, partSidecar, prometheusPods, true),
	}
}

// storeGateway serves the bucket's blocks; its volume caches index headers
// and can be lost without losing data.
func storeGateway(e *env.Environment, sum string) ([]stack.Object, error) {
	t, ns := e.Monitoring.Thanos.StoreGateway, e.Monitoring.Namespace
	res, err := t.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("monitoring.thanos.storeGateway.resources: %w", err)
	}
	data, err := claim(t.Storage, partStore, "monitoring.thanos.storeGateway")
	if err != nil {
		return nil, err
	}
	vols, mounts := bucketVolumes(e)
	mounts = append(mounts, corev1.VolumeMount{Name: "data", MountPath: dataDir})
	args := append([]string{"store", "--data-dir=" + dataDir, "--objstore.config-file=" + ObjstoreConfigFile}, serverFlags(true)...)
	l := labels(partStore)
	sts := &appsv1.StatefulSet{
		ObjectMeta: meta(StoreName, ns, l),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(int32(t.Replicas)),
			ServiceName: StoreName,
			Selector:    &metav1.LabelSelector{MatchLabels: selector(partStore)},
			// Replicas are independent: start them together.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: sum}},
				Spec:       podSpec(container("thanos-store", args, true, res, mounts, credentialsEnv(e)), vols, spread(partStore, t.Replicas)),
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{data},
		},
	}
	out := []stack.Object{
		sts,
		&corev1.Service{
			ObjectMeta: meta(StoreName, ns, l),
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: selector(partStore), Ports: servicePorts(true)},
		},
		ingressPolicy(StoreName, ns, partStore, selector(partStore), true),
	}
	if t.Replicas >= 2 {
		out = append(out, pdb(StoreName, ns, partStore))
	}
	return out, nil
}

// compactorArgs are the compactor's flags: one long-running process
// (--wait) that compacts, merges the replicas' blocks (deduplication on the
// replica label), downsamples and applies retention per resolution.
func compactorArgs(e *env.Environment) []string {
	t := e.Monitoring.Thanos
	args := []string{
		"compact", "--wait",
		"--data-dir=" + dataDir,
		"--objstore.config-file=" + ObjstoreConfigFile,
		"--retention.resolution-raw=" + t.Retention.Raw,
		"--retention.resolution-5m=" + t.Retention.FiveMinutes,
		"--retention.resolution-1h=" + t.Retention.OneHour,
		"--deduplication.replica-label=" + ReplicaLabel,
	}
	if !t.Downsampling {
		args = append(args, "--downsampling.disable")
	}
	return append(args, serverFlags(false)...)
}

// compactor is a single replica: two compactors on one bucket would
// compact the same blocks twice.
func compactor(e *env.Environment, sum string) ([]stack.Object, error) {
	t, ns := e.Monitoring.Thanos.Compactor, e.Monitoring.Namespace
	res, err := t.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("monitoring.thanos.compactor.resources: %w", err)
	}
	data, err := claim(t.Storage, partCompact, "monitoring.thanos.compactor")
	if err != nil {
		return nil, err
	}
	vols, mounts := bucketVolumes(e)
	mounts = append(mounts, corev1.VolumeMount{Name: "data", MountPath: dataDir})
	l := labels(partCompact)
	return []stack.Object{
		&appsv1.StatefulSet{
			ObjectMeta: meta(CompactName, ns, l),
			Spec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To(int32(1)),
				ServiceName: CompactName,
				Selector:    &metav1.LabelSelector{MatchLabels: selector(partCompact)},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: sum}},
					Spec:       podSpec(container("thanos-compact", compactorArgs(e), false, res, mounts, credentialsEnv(e)), vols, nil),
				},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{data},
			},
		},
		&corev1.Service{
			ObjectMeta: meta(CompactName, ns, l),
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: selector(partCompact), Ports: servicePorts(false)},
		},
		ingressPolicy(CompactName, ns, partCompact, selector(partCompact), false),
	}, nil
}

// endpointConfig is the querier's --endpoint.sd-config-file format
// (thanos cmd/thanos/endpointset.go EndpointConfig, v0.42.4); only the
// fields Vigil sets.
type endpointConfig struct {
	Endpoints []endpointSettings `json:"endpoints"`
}

type endpointSettings struct {
	Address string `json:"address"`
}

// Endpoints are the StoreAPIs the querier asks, in order: the local
// sidecars and store gateway (SRV records of their headless Services, so
// every replica is found), then each observed environment by name.
func Endpoints(e *env.Environment) []string {
	ns := e.Monitoring.Namespace
	srv := func(svc string) string {
		return fmt.Sprintf("dnssrv+_%s._tcp.%s.%s.svc", GRPCPortName, svc, ns)
	}
	out := []string{srv(SidecarService), srv(StoreName)}
	for _, name := range env.SortedKeys(e.Monitoring.Thanos.Observe) {
		out = append(out, e.Monitoring.Thanos.Observe[name].Address)
	}
	return out
}

// QuerierArgs are the querier's flags.
func querierArgs() []string {
	return append([]string{
		"query",
		"--query.replica-label=" + ReplicaLabel,
		"--endpoint.sd-config-file=" + path.Join(endpointsDir, endpointsKey),
		// Long ranges read the downsampled blocks.
		"--query.auto-downsampling",
	}, serverFlags(true)...)
}

func querier(e *env.Environment) ([]stack.Object, error) {
	t, ns := e.Monitoring.Thanos.Querier, e.Monitoring.Namespace
	res, err := t.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("monitoring.thanos.querier.resources: %w", err)
	}
	var sd endpointConfig
	for _, a := range Endpoints(e) {
		sd.Endpoints = append(sd.Endpoints, endpointSettings{Address: a})
	}
	conf, err := yaml.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("querier endpoints: %w", err)
	}
	l := labels(partQuery)
	vols := []corev1.Volume{{Name: "endpoints", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: EndpointsConfigMap},
	}}}}
	mounts := []corev1.VolumeMount{{Name: "endpoints", MountPath: endpointsDir, ReadOnly: true}}
	dep := &appsv1.Deployment{
		ObjectMeta: meta(QueryName, ns, l),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(t.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: selector(partQuery)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: checksum(conf)}},
				Spec:       podSpec(container("thanos-query", querierArgs(), true, res, mounts, nil), vols, spread(partQuery, t.Replicas)),
			},
		},
	}
	out := []stack.Object{
		&corev1.ConfigMap{ObjectMeta: meta(EndpointsConfigMap, ns, l), Data: map[string]string{endpointsKey: string(conf)}},
		dep,
		&corev1.Service{
			ObjectMeta: meta(QueryName, ns, l),
			Spec:       corev1.ServiceSpec{Selector: selector(partQuery), Ports: servicePorts(true)},
		},
	}
	np := ingressPolicy(QueryName, ns, partQuery, selector(partQuery), false, grafanaPods)
	if t.ExposeGRPC {
		// An observer in another cluster asks this querier; its address
		// is not known here, so the port is open to any source.
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{tcp(GRPCPort)}})
		out = append(out, &corev1.Service{
			ObjectMeta: meta(QueryGRPCName, ns, l),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeLoadBalancer,
				Selector: selector(partQuery),
				Ports:    []corev1.ServicePort{{Name: GRPCPortName, Port: GRPCPort, TargetPort: intstr.FromString(GRPCPortName), Protocol: corev1.ProtocolTCP}},
			},
		})
	}
	out = append(out, np)
	if t.Replicas >= 2 {
		out = append(out, pdb(QueryName, ns, partQuery))
	}
	return out, nil
}

// monitors scrape every component's /metrics; a ServiceMonitor's job label
// is the Service name (thanos-sidecar, thanos-store, thanos-compact,
// thanos-query), which the alerts select on.
func monitors(e *env.Environment) []stack.Object {
	ns := e.Monitoring.Namespace
	sm := func(name, part string, sel map[string]string) *monitoringv1.ServiceMonitor {
		return &monitoringv1.ServiceMonitor{
			ObjectMeta: meta(name, ns, labels(part)),
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector:          metav1.LabelSelector{MatchLabels: sel},
				NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{ns}},
				Endpoints:         []monitoringv1.Endpoint{{Port: HTTPPortName}},
			},
		}
	}
	return []stack.Object{
		sm(SidecarService, partSidecar, selector(partSidecar)),
		sm(StoreName, partStore, selector(partStore)),
		sm(CompactName, partCompact, selector(partCompact)),
		sm(QueryName, partQuery, selector(partQuery)),
	}
}
