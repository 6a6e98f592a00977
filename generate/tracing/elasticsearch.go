package tracing

import (
	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
)

// Elasticsearch is how a client reaches the logging Elasticsearch that ECK
// runs (package elasticsearch): its HTTPS URL, the user, the Secret key of
// the user's password and the Secret key of the CA of its self-signed HTTP
// certificate. ECK creates both Secrets in the logging namespace.
type Elasticsearch struct {
	Namespace string
	URL       string
	User      string
	Password  env.SecretRef
	CA        env.SecretRef
}

// LoggingElasticsearch returns the logging cluster's connection details.
func LoggingElasticsearch(e *env.Environment) Elasticsearch {
	return Elasticsearch{
		Namespace: e.Logging.Namespace,
		URL:       elasticsearch.URL(e),
		User:      elasticsearch.User,
		Password:  env.SecretRef{Secret: elasticsearch.ElasticUserSecret(), Key: elasticsearch.ElasticUserKey},
		CA:        env.SecretRef{Secret: elasticsearch.CASecret(), Key: elasticsearch.CAKey},
	}
}
