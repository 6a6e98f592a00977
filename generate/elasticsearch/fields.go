package elasticsearch

// Field is one field of a stream's documents that Vigil knows to exist,
// with the mapping type its index template gives it.
type Field struct {
	Name string
	Type string
}

// TimeField is the document time every stream has: Fluent Bit's es output
// writes the record time there.
const TimeField = "@timestamp"

// Fields lists, per stream kind, the fields the pipeline Vigil configures
// produces and its Kibana content uses. The index templates map them, so
// that they are searchable and aggregatable under these exact names; a
// test checks that every saved search uses only these.
//
//   - containers: the cri/docker multiline parsers of Fluent Bit's tail
//     input (log, stream) and its kubernetes filter (kubernetes.*, pod
//     labels with dots replaced by the es output's Replace_Dots).
//   - node: the systemd input with Strip_Underscores (journal fields
//     without their leading underscore).
//   - audit: the audit.k8s.io/v1 Event the API server writes, one JSON
//     object per line.
//   - events: the core/v1 Event object the kubernetes_events input emits
//     as the record body.
func Fields(kind string) []Field {
	switch kind {
	case StreamContainers:
		return []Field{
			{TimeField, "date"},
			{"log", "text"},
			{"stream", "keyword"},
			{"kubernetes.namespace_name", "keyword"},
			{"kubernetes.pod_name", "keyword"},
			{"kubernetes.container_name", "keyword"},
			{"kubernetes.host", "keyword"},
			{"kubernetes.labels.spark-role", "keyword"},
			{"kubernetes.labels.spark-app-selector", "keyword"},
			{"kubernetes.labels.sparkoperator_k8s_io/app-name", "keyword"},
		}
	case StreamNode:
		return []Field{
			{TimeField, "date"},
			{"MESSAGE", "text"},
			{"SYSTEMD_UNIT", "keyword"},
			{"HOSTNAME", "keyword"},
			{"PRIORITY", "keyword"},
		}
	case StreamAudit:
		return []Field{
			{TimeField, "date"},
			{"verb", "keyword"},
			{"user.username", "keyword"},
			{"objectRef.resource", "keyword"},
			{"objectRef.namespace", "keyword"},
			{"objectRef.name", "keyword"},
			{"responseStatus.code", "integer"},
			{"requestURI", "keyword"},
		}
	case StreamEvents:
		return []Field{
			{TimeField, "date"},
			{"type", "keyword"},
			{"reason", "keyword"},
			{"message", "text"},
			{"metadata.namespace", "keyword"},
			{"involvedObject.kind", "keyword"},
			{"involvedObject.name", "keyword"},
			{"source.component", "keyword"},
		}
	}
	return nil
}
