// Package overlays compiles the typed objects Vigil's generators produce into
// the kustomize and Flux tree a cluster reconciles, proves that the tree
// builds back into exactly those objects, writes it atomically, diffs it
// against what is on disk and draws its dependency graph.
//
// # Layout
//
//	base/<component>/<layer>/          the component's objects in one layer as
//	                                   generated for Vigil's default environment,
//	                                   one file per object, <kind>-<name>.yaml
//	envs/<env>/<component>/<layer>/    an overlay per unit (see below):
//	    kustomization.yaml             the base it includes, the environment
//	                                   label, its patches and resources
//	    patches/<component>/<file>     a change to one base object, named like
//	                                   the base file it patches
//	    resources/<component>/<file>   an object the environment has and the
//	                                   base has not
//	envs/<env>/_prerequisites/<gate>/  what a gate applies: one ConfigMap
//	                                   saying what the gate waits for
//	envs/<env>/_secrets/<namespace>/   the SOPS-encrypted Secrets, unchanged,
//	                                   applied and decrypted by <env>-secrets
//	clusters/<env>/                    the Flux objects: a Kustomization per
//	                                   unit, per gate and per upstream, a
//	                                   GitRepository per upstream, and their
//	                                   kustomization.yaml
//
// Bases are split by layer because a kustomization cannot include part of a
// directory; <component>/<layer> keeps a component in one place, and no path
// moves when a component gains a layer. A base depends on the default
// environment alone, never on the environments rendered with it.
//
// # Units
//
// Flux reconciles one Kustomization per unit: a component's objects in one
// layer (<env>-<component>-<layer>, or <env>-<component> for the namespaces
// and storage components, which are named after their layer). The layer
// stays in the name even when a component has one layer, so that a name does
// not change when it gains one: Flux deletes what a removed Kustomization
// applied. A unit is the smallest thing that fails alone: when Elasticsearch
// never becomes healthy, only the units that need it wait, and alert rules,
// monitors and Fluent Bit, which never need it, are applied regardless.
//
// # Dependencies
//
// A unit depends on another only when one of its objects references what
// the other applies (refs.go): the Namespace it lives in, the CRDs of its
// kind (upstream.Groups, or a CRD in the tree), the operator that runs it
// when the unit's health depends on the operator (Prometheus, Alertmanager,
// Elasticsearch, Kibana, Spark applications), an admission webhook for its
// group, the StorageClass its claims name, and Secrets, ConfigMaps,
// ServiceAccounts, Roles and Services named in structured fields (env
// valueFrom, envFrom, volumes, imagePullSecrets, SecretKeySelectors of
// monitoring.coreos.com resources, RBAC subjects and roleRefs, Ingress and
// webhook services). Names resolved at run time (selectors, host names in
// configuration text, Prometheus' Alertmanager endpoints) make no edge: the
// run time copes with them, and an edge would couple their failures. Each
// edge keeps the references behind it (gen graph --format explain prints
// them), and edges implied by others are dropped.
//
// # Health checks and timeouts
//
// A unit lists its objects whose kstatus readiness means something
// (workloads, PodDisruptionBudgets, CRDs, custom resources) in
// spec.healthChecks and never sets wait: true, which would also wait for
// standalone PersistentVolumeClaims to bind: a claim on a
// WaitForFirstConsumer class binds only once a pod uses it, and that pod may
// be in a unit waiting for this one. Upstream CRD Kustomizations wait,
// because their dependents need the CRDs Established. Units with volume
// claim templates (Prometheus, Alertmanager, Elasticsearch, Tempo) get
// DataTimeoutFactor times Flux.Timeout; gates GateTimeout.
//
// # Prerequisites
//
// What the environment needs and does not create (Prerequisite: a Secret
// with keys, a CSIDriver, an IngressClass) gets a gate: a Kustomization that
// applies only a ConfigMap describing it and health-checks the object; for a
// Secret, a healthCheckExprs CEL expression requires its keys. Units whose
// objects reference the object, or whose component the prerequisite names,
// depend on the gate, so Flux reports the gate as not ready with the
// object's name instead of a Pending claim or a pod that cannot start.
//
// # SOPS secrets
//
// Environment.SOPS ships SOPS-encrypted Secret manifests: copied byte for
// byte, applied by one Kustomization per environment with spec.decryption,
// which owns those Secrets in the graph (units reading one depend on it) and
// depends on a gate for its key Secret. See SOPS in sops.go.
//
// # CRDs
//
// Kustomizations that apply CRDs (upstream ones, or a unit holding one) set
// kustomize.toolkit.fluxcd.io/prune: disabled through
// spec.commonMetadata.annotations: a changed tag or path, or a deleted
// Kustomization, never deletes a CRD and with it every resource of its kind.
//
// # Overlays
//
// An overlay includes a base directory when the environment keeps at least
// one of its objects. A kept object that differs gets one patch holding only
// the difference: a strategic merge patch when kustomize applies it exactly
// (checked by applying it with kustomize's own code) and when it does not
// restate a list that lost or changed elements; a JSON 6902 patch otherwise,
// with test operations naming the list elements it edits. A base object the
// environment leaves out is removed with a $patch: delete patch, so the
// overlay says so; a base directory none of whose objects the environment
// keeps is not included at all. Objects only the environment has are plain
// resources.
//
// # Verification
//
// Compile builds every kustomization of the tree in process (krusty over an
// in-memory file system holding only the files the build may read) and
// compares the result, object by object and field by field, with what the
// generators produced. A difference fails Compile with a *VerificationError.
//
// # Streaming
//
// Two parts of the tree are fleet-wide and the rest is per environment. The
// bases depend on Vigil's default environment alone, and each environment's
// overlays and Flux objects (envs/<env>/, clusters/<env>/) depend on the
// bases and that environment alone: no file of one environment reads
// another's. A Compiler therefore renders the bases once and then compiles
// environments in batches (Compiler.Batch), each verified against the bases
// and its own files; what a batch leaves behind is only its files. Vigil's
// fleet renderer (generate.RenderFleet) runs one environment per batch on
// at most GOMAXPROCS workers and hands each environment's files to a Writer
// as soon as they are verified: the Writer classifies that environment's
// object changes against the previous tree (its kustomizations read only
// the bases and its own files), puts its files into the new tree beside the
// output directory, and keeps only their paths. So the objects, CUE values,
// patches, kustomize builds and files of an environment are garbage as soon
// as it is written, and peak memory is the bases plus that bounded working
// set plus a path list, instead of every environment's bytes until the end.
// Nothing reaches the output directory before Commit, which swaps the whole
// new tree in at once. The result does not depend on batching or on the
// order environments finish in: files are keyed by path, object changes are
// sorted by environment, and the .vigil-manifest lists the sorted paths of
// whatever tree the Writer was given, which is also why shards merged
// (MergeShards) write the same manifest as one render. The Flux tree needs
// no fleet-wide pass either: each clusters/<env>/ is that environment's own
// kustomization.
package overlays
