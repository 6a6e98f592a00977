// Package spark owns Spark on the cluster: the Spark Operator, what Spark
// jobs need in their namespaces, the Spark History Server on S3, and their
// monitoring (stack.md §3 and §4).
//
// # What it renders
//
// CRDs: the operator's CRDs (sparkoperator.k8s.io SparkApplication,
// ScheduledSparkApplication, SparkConnect), referenced upstream at the
// operator's tag, never copied.
//
// Operators: the controller and webhook Deployments of Spark Operator
// v2.5.2 with their ServiceAccounts, ClusterRoles, Roles and bindings as the
// chart grants them, the controller's and webhook's Roles in every job
// namespace (the controller cannot start without them), the webhook Service
// and both webhook configurations (failurePolicy Fail, limited to the job
// namespaces), network policies, and the operator's copy of
// spark-defaults.conf. The webhook generates its own certificate and writes
// its CA into the configurations.
//
// Instances: in every job namespace the ServiceAccount spark-operator-spark,
// its Role and RoleBinding, and the spark-defaults ConfigMap; the History
// Server (ConfigMap, Deployment, Service, Ingress when a host is set,
// NetworkPolicy); the Job that creates the event log placeholder.
//
// Content, with the Prometheus Operator: PodMonitors for the controller,
// the webhook and running drivers, a ServiceMonitor for the History Server,
// and alert rules on failed, unsubmittable, stuck and slow applications,
// failing executors and components that are down.
//
// # One event log, written and read
//
// EventLogDir derives "s3a://<bucket>/<prefix>/" once; it is both the jobs'
// spark.eventLog.dir and the History Server's spark.history.fs.logDirectory.
// Both sides get the same S3A settings: endpoint, path-style access, signing
// region, TLS from the endpoint's scheme, and credentials from the
// environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which
// are only ever set from the environment's Secret references. The
// History Server runs apache/spark at the environment's spark.version, with
// hadoop-aws and the AWS SDK bundle of that Spark line (S3AFor) fetched from
// Maven Central (or spark.historyServer.s3aJars.mirrorUrl, a proxy with its
// layout) at start and checked against the published SHA-1, or copied from
// s3aJars.image, an image of the platform's holding them, so that a cluster
// without egress needs no download. With images.registry set and neither,
// generating is refused.
//
// # How jobs get the settings
//
// The controller runs with the LoadSparkDefaults feature gate and
// spark-defaults.conf in its SPARK_CONF_DIR, so every spark-submit it makes
// starts from these settings; a SparkApplication's spec.sparkConf overrides
// any of them (spark.eventLog.enabled: "false" opts out). The copy in each
// job namespace serves clients that submit on their own (spark-submit or
// pyspark in a pod there): mount it and set SPARK_CONF_DIR. A
// SparkApplication's spec.sparkConfigMap does not load spark-defaults.conf:
// the driver is started with --properties-file.
//
// With spark.historyServer.eventLog.jobs "opt-in" the defaults keep the
// directory and the S3A settings but set spark.eventLog.enabled to false and
// name no Secret, so jobs without hadoop-aws or without the Secret start; an
// application opts in through its sparkConf (see schema/platform.cue), and
// the job namespaces get no gate for the Secret.
//
// With "all" (the default), job images must carry the same hadoop-aws and SDK jars (S3AFor of their
// Spark version), and the event log Secret must exist in every job
// namespace: the defaults set spark.kubernetes.driver.secretKeyRef and
// spark.kubernetes.executor.secretKeyRef for both keys, which Spark turns
// into secretKeyRef environment variables of the driver and executor pods.
// An application that sets its credentials by hand references the same
// Secret:
//
//	spec:
//	  driver:
//	    serviceAccount: spark-operator-spark
//	    env:
//	      - name: AWS_ACCESS_KEY_ID
//	        valueFrom: {secretKeyRef: {name: spark-s3, key: access-key-id}}
//	      - name: AWS_SECRET_ACCESS_KEY
//	        valueFrom: {secretKeyRef: {name: spark-s3, key: secret-access-key}}
//
// With a private CA the History Server trusts the CA bundle through a trust
// store built at start; job images need the CA in their own trust store.
//
// # The driver UI
//
// A running driver serves its UI on port 4040. With spark.ui.service the
// operator creates a Service per application (--enable-ui-service), and
// with spark.ui.ingressUrlFormat an Ingress per application at that URL
// (--ingress-url-format, with the cluster's ingress class); nothing else is
// rendered for it. The UI ends with the driver: finished applications are
// in the History Server.
//
// # Metrics
//
// The controller exports the spark_application_* and spark_executor_*
// series with the application's namespace as the namespace label. Drivers
// serve Spark's own metrics through the PrometheusServlet sink on the UI
// port (/metrics/prometheus and /metrics/executors/prometheus), under the
// fixed metrics namespace "spark" with the application as labels
// spark_app and spark_app_id; the History Server serves its metrics the
// same way on its port.
package spark
