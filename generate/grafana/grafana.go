// Package grafana owns Grafana the kube-prometheus way, with a persistent
// volume: its Deployment, claim, Service, Ingress, NetworkPolicy,
// ServiceMonitor and alert rules, and the provisioning of its datasources
// and dashboard folders.
//
// Datasources and dashboards are built by other packages (dashboards,
// correlation) and handed in through Options: GenerateWith writes the
// datasources into the ConfigMap DatasourcesConfigMap and mounts every
// dashboard ConfigMap named in Options.Dashboards under one provider per
// folder. Generate is GenerateWith with the default options: the Prometheus
// datasource alone and no dashboards.
package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	// Component is the stack component (and base directory) of every object.
	Component = "grafana"
	// Name names the Deployment, Service, ServiceAccount and Ingress.
	Name = "grafana"
	// Port is the HTTP port of the UI, the API and /metrics.
	Port = 3000
	// PortName names Port on the container and the Service.
	PortName = "http"
	// DatasourcesConfigMap holds the datasource provisioning file. It is a
	// ConfigMap, not a Secret as in kube-prometheus, because nothing secret
	// is in it: secure fields are $VARIABLES fed from secretKeyRef.
	DatasourcesConfigMap = "grafana-datasources"
	// DashboardProvidersConfigMap holds the dashboard provider file, one
	// file provider per dashboard folder.
	DashboardProvidersConfigMap = "grafana-dashboard-providers"
	// StorageClaim is the PersistentVolumeClaim of /var/lib/grafana.
	StorageClaim = "grafana-storage"
	// DashboardsRoot is where dashboard ConfigMaps are mounted, one
	// directory per folder below it.
	DashboardsRoot = "/grafana-dashboard-definitions"
)

// ServiceURL is Grafana's in-cluster URL.
func ServiceURL(e *env.Environment) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", Name, e.Monitoring.Namespace, Port)
}

// Options are what other generators contribute to Grafana.
type Options struct {
	// Datasources to provision. Nil means the Prometheus datasource alone
	// (PrometheusDatasource); a caller that adds datasources includes
	// PrometheusDatasource itself, extended as it needs.
	Datasources []Datasource
	// Dashboards are ConfigMaps of dashboard JSON files to mount, each in
	// a Grafana folder. The ConfigMaps are made by their owner; Grafana
	// mounts them optional, so they may live in a later layer.
	Dashboards []DashboardConfigMap
}

// Generate adds Grafana with the default Options.
func Generate(e *env.Environment, s *stack.Set) error {
	return GenerateWith(e, s, Options{})
}

// GenerateWith adds Grafana with its datasources and dashboards. It adds
// nothing when monitoring or Grafana is disabled.
func GenerateWith(e *env.Environment, s *stack.Set, opts Options) error {
	if !e.GrafanaEnabled() {
		return nil
	}
	g := e.Monitoring.Grafana
	ns := e.Monitoring.Namespace
	version := stack.Grafana.Version

	datasources := opts.Datasources
	if datasources == nil {
		datasources = []Datasource{PrometheusDatasource(e)}
	}
	dsFile, dsEnv, err := datasourcesFile(datasources)
	if err != nil {
		return fmt.Errorf("grafana datasources: %w", err)
	}
	dashboards, err := mountDashboards(opts.Dashboards)
	if err != nil {
		return fmt.Errorf("grafana dashboards: %w", err)
	}
	providersFile, err := dashboards.providersFile()
	if err != nil {
		return fmt.Errorf("grafana dashboard providers: %w", err)
	}
	res, err := g.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("monitoring.grafana.resources: %w", err)
	}
	size, err := resource.ParseQuantity(g.Storage.Size)
	if err != nil {
		return fmt.Errorf("monitoring.grafana.storage.size %q: %w", g.Storage.Size, err)
	}

	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(Name, Component, version)}
	}
	selector := stack.SelectorLabels(Name, Component)

	sa := &corev1.ServiceAccount{ObjectMeta: meta(Name), AutomountServiceAccountToken: ptr.To(false)}

	dsCM := &corev1.ConfigMap{ObjectMeta: meta(DatasourcesConfigMap), Data: map[string]string{"datasources.yaml": string(dsFile)}}
	// Grafana expands $VARIABLES in provisioning files itself, and data
	// links in jsonData carry Grafana's own ${__value.raw}: Flux's
	// post-build substitution must leave this file alone.
	dsCM.Annotations = map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
	providersCM := &corev1.ConfigMap{ObjectMeta: meta(DashboardProvidersConfigMap), Data: map[string]string{"dashboards.yaml": string(providersFile)}}

	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: meta(StorageClaim),
		Spec: corev1.PersistentVolumeClaimSpec{
			// One replica writes its SQLite database here.
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(env.StorageClassName(g.Storage.Role)),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}

	envVars := []corev1.EnvVar{
		{Name: "GF_SECURITY_ADMIN_USER", Value: g.Admin.User},
	}
	if p := g.Admin.Password; p != nil {
		// Grafana reads it only when it creates the admin user, on the
		// first start with an empty volume; later changes go through the
		// UI or grafana cli.
		envVars = append(envVars, secretEnv("GF_SECURITY_ADMIN_PASSWORD", *p))
	}
	envVars = append(envVars,
		// The root file system is read-only: log to stdout only.
		corev1.EnvVar{Name: "GF_LOG_MODE", Value: "console"},
		corev1.EnvVar{Name: "GF_ANALYTICS_REPORTING_ENABLED", Value: "false"},
		corev1.EnvVar{Name: "GF_ANALYTICS_CHECK_FOR_UPDATES", Value: "false"},
	)
	if h := g.Ingress.Host; h != "" {
		scheme := "http"
		if g.Ingress.TLSSecret != "" {
			scheme = "https"
		}
		// Redirects and links in notifications use the public URL.
		envVars = append(envVars, corev1.EnvVar{Name: "GF_SERVER_ROOT_URL", Value: scheme + "://" + h + "/"})
	}
	envVars = append(envVars, dsEnv...)

	mounts := []corev1.VolumeMount{
		{Name: "storage", MountPath: "/var/lib/grafana"},
		{Name: "tmp", MountPath: "/tmp"},
		{Name: "datasources", MountPath: "/etc/grafana/provisioning/datasources", ReadOnly: true},
		{Name: "dashboard-providers", MountPath: "/etc/grafana/provisioning/dashboards", ReadOnly: true},
	}
	volumes := []corev1.Volume{
		{Name: "storage", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: StorageClaim}}},
		// On disk, not in memory, where it would count against the
		// container's memory limit.
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("256Mi"))}}},
		configMapVolume("datasources", DatasourcesConfigMap, false),
		configMapVolume("dashboard-providers", DashboardProvidersConfigMap, false),
	}
	for _, d := range dashboards {
		mounts = append(mounts, corev1.VolumeMount{Name: d.volume, MountPath: d.mountPath, ReadOnly: true})
		// Optional: the dashboard ConfigMaps may be applied in a later
		// layer, which waits for this Deployment to be ready.
		volumes = append(volumes, configMapVolume(d.volume, d.configMap, true))
	}

	podLabels := stack.Labels(Name, Component, version)
	deploy := &appsv1.Deployment{
		ObjectMeta: meta(Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			// The volume is ReadWriteOnce: the old pod must release it
			// before the new one can mount it.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: podLabels,
					// Grafana reads datasources and providers only at start:
					// roll the pod when they change.
					Annotations: map[string]string{
						"checksum/grafana-datasources":         checksum(dsFile),
						"checksum/grafana-dashboard-providers": checksum(providersFile),
					},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           Name,
					AutomountServiceAccountToken: ptr.To(false),
					NodeSelector:                 map[string]string{"kubernetes.io/os": "linux"},
					SecurityContext: &corev1.PodSecurityContext{
						// 472 is the grafana user of the image; fsGroup makes
						// the new volume writable for it.
						RunAsUser:           ptr.To[int64](472),
						RunAsGroup:          ptr.To[int64](472),
						RunAsNonRoot:        ptr.To(true),
						FSGroup:             ptr.To[int64](472),
						FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
						SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.Grafana.Ref(),
						Ports: []corev1.ContainerPort{{Name: PortName, ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
						Env:   envVars,
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/api/health", Port: intstr.FromString(PortName)}},
						},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						VolumeMounts:    mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}

	svc := &corev1.Service{
		ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: PortName, Port: Port, TargetPort: intstr.FromString(PortName), Protocol: corev1.ProtocolTCP}},
		},
	}

	// Prometheus scrapes /metrics on the UI port; the ingress controller
	// needs the same port once the UI is published (stack.md: the
	// kube-prometheus policy forgets it).
	from := []networkingv1.NetworkPolicyPeer{prometheus.Peer(e)}
	if g.Ingress.Host != "" {
		from = append(from, IngressControllerPeer(e.Cluster.IngressClassName))
	}
	netpol := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  from,
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(Port))}},
			}},
			// Grafana queries datasources anywhere in and out of the cluster.
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}

	// One replica on a ReadWriteOnce volume: a PodDisruptionBudget could
	// only block node drains (minAvailable 1) or allow everything
	// (maxUnavailable 1), so there is none.
	s.Add(Component, stack.Instances, sa, dsCM, providersCM, pvc, deploy, svc, netpol)

	if h := g.Ingress.Host; h != "" {
		s.Add(Component, stack.Instances, ingress(e, meta(Name), h))
	}

	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(Name),
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel: stack.LabelName,
			Selector: metav1.LabelSelector{MatchLabels: selector},
			Endpoints: []monitoringv1.Endpoint{{
				Port:     PortName,
				Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
			}},
		},
	}
	s.Add(Component, stack.Content, sm, rules(meta(Name+"-rules")))
	return nil
}

func ingress(e *env.Environment, meta metav1.ObjectMeta, host string) *networkingv1.Ingress {
	g := e.Monitoring.Grafana
	ing := &networkingv1.Ingress{
		ObjectMeta: meta,
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(e.Cluster.IngressClassName),
			Rules: []networkingv1.IngressRule{{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: Name,
							Port: networkingv1.ServiceBackendPort{Name: PortName},
						}},
					}},
				}},
			}},
		},
	}
	if g.Ingress.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: g.Ingress.TLSSecret}}
	}
	return ing
}

// IngressControllerPeer selects the pods of the ingress controller that
// serves an IngressClass. The environment does not say where the
// controller runs, so it matches the controller's pods by their
// app.kubernetes.io/name in any namespace: ingress-nginx for class nginx,
// the class name itself otherwise (traefik, …).
func IngressControllerPeer(ingressClassName string) networkingv1.NetworkPolicyPeer {
	name := ingressClassName
	if name == "nginx" {
		name = "ingress-nginx"
	}
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{stack.LabelName: name}},
	}
}

func configMapVolume(name, configMap string, optional bool) corev1.Volume {
	v := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
	}}}
	if optional {
		v.ConfigMap.Optional = ptr.To(true)
	}
	return v
}

func secretEnv(name string, ref env.SecretRef) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Secret},
		Key:                  ref.Key,
	}}}
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
