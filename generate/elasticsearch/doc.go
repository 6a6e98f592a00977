// Package elasticsearch owns the log store of the stack: an Elasticsearch
// cluster and Kibana run by Elastic Cloud on Kubernetes (ECK), the ECK
// operator itself, the vm.max_map_count node setting, the index lifecycle
// (retention) of every log stream, an Elasticsearch exporter for Prometheus
// and the alert rules on cluster health and disk.
//
// # ECK rather than plain workloads
//
// stack.md recommends ECK over a hand-built StatefulSet, and Vigil follows:
// the operator provisions TLS and the elastic user, rolls nodes one at a
// time while keeping the cluster green, manages master voting exclusions
// when node sets shrink and creates a PodDisruptionBudget. A plain
// StatefulSet would have to reimplement each of those. Plain workloads stay
// a later option for clusters that cannot run an operator; the names other
// components use (HTTPService, CASecret, ElasticUserSecret) are ECK's and
// would be kept by such a generator.
//
// # What is generated, per layer
//
//   - crds: ECK's CRDs, referenced at the operator's release tag
//     (config/crds/v1/patches of elastic/cloud-on-k8s, the kustomization
//     that builds the released all-crds.yaml), never copied.
//   - operators: the operator, from Elastic's Helm chart at the same pinned
//     version (a HelmRepository and a HelmRelease in elastic-system): the
//     repository publishes the operator's manifests only as that chart, so
//     Flux's helm-controller renders it rather than Vigil copying it. The
//     chart's CRDs are off; they come from the crds layer.
//   - node: with maxMapCount "daemonset", a privileged DaemonSet that
//     raises vm.max_map_count on every node.
//   - instances: the Elasticsearch and Kibana resources, Kibana's Ingress,
//     a NetworkPolicy for the Elasticsearch pods, the bootstrap Job that
//     installs the index lifecycle policies and index templates (and, with
//     snapshots on, the S3 repository and SLM policy: snapshots.go), the
//     Job that imports Kibana's data views, searches and dashboard
//     (kibanacontent.go), and the Elasticsearch exporter.
//   - content: the exporter's ServiceMonitor and the alert rules.
//
// # Index lifecycle
//
// Logs go to data streams, one per kind of log (see Streams):
// logs-kubernetes.container-default, logs-kubernetes.node-default, with
// audit on logs-kubernetes.audit-default and, with logging.events on,
// logs-kubernetes.events-default (Kubernetes events, retention
// logging.events.retention). Each has an index template of
// priority 250 (above Elasticsearch's built-in logs-*-* template, 100) that
// names an ILM policy: roll over daily or at 50 GB per primary shard,
// delete after logging.elasticsearch.retention (audit: audit.retention). ECK
// manages ILM only through StackConfigPolicy, which needs an Enterprise
// licence, so a Job puts the policies and templates with curl (PUT is
// idempotent); the request bodies are built from Go structs. The log agent
// must not write before the templates exist, or Elasticsearch creates the
// data stream from its built-in template, whose policy never deletes: that
// is why the agents are deployed in the content layer, after this Job.
//
// # vm.max_map_count
//
// Elasticsearch ≥ 8.16 needs 1048576, older versions 262144. "daemonset"
// raises it on every node before Elasticsearch starts (node layer), so the
// Elasticsearch pods themselves stay unprivileged; "init-container" runs a
// privileged init container in each Elasticsearch pod; "host" leaves it to
// the node image; "disable-mmap" sets node.store.allow_mmap: false, at a
// cost in performance.
//
// # Kibana and its Ingress
//
// Kibana keeps ECK's self-signed TLS, so the elastic user's password never
// crosses the network in clear text, not even between the ingress
// controller and Kibana. The Ingress therefore tells ingress-nginx to speak
// HTTPS to the backend (nginx.ingress.kubernetes.io/backend-protocol); an
// ingress controller of another class needs its own equivalent.
package elasticsearch
