package thanos_test

import (
	"fmt"
	"os"

	"github.com/go-kit/log"
	"github.com/thanos-io/objstore/providers/s3"
	yamlv2 "gopkg.in/yaml.v2"
	"sigs.k8s.io/yaml"
)

// decodeObjstore reads an objstore configuration the way Thanos v0.42.4
// does, with the objstore module its go.mod requires
// (v0.0.0-20250804093838-71d60dfee488): the top level is client.BucketConfig
// (type, config, prefix), decoded strictly here because importing the
// client package would import every provider; the config is decoded
// strictly into providers/s3's own Config over its DefaultConfig, as its
// parseConfig does, and handed to s3.NewBucketWithConfig, which runs its
// validation and builds the client (no request is sent). Vigil never puts a
// key pair in the file: objstore reads it from the environment.
func decodeObjstore(b []byte) error {
	var top struct {
		Type   string         `json:"type"`
		Config map[string]any `json:"config"`
		Prefix string         `json:"prefix"`
	}
	if err := yaml.UnmarshalStrict(b, &top); err != nil {
		return fmt.Errorf("bucket config: %w", err)
	}
	if top.Type != "S3" {
		return fmt.Errorf("type %q, want S3", top.Type)
	}
	raw, err := yamlv2.Marshal(top.Config)
	if err != nil {
		return err
	}
	c := s3.DefaultConfig
	if err := yamlv2.UnmarshalStrict(raw, &c); err != nil {
		return fmt.Errorf("s3 config: %w", err)
	}
	if c.AccessKey != "" || c.SecretKey != "" || c.SessionToken != "" {
		return fmt.Errorf("s3 config holds credentials; they belong in the environment")
	}
	if ca := c.HTTPConfig.TLSConfig.CAFile; ca != "" {
		// The bundle is mounted in the pod; here, only its path is known.
		if _, err := os.Stat(ca); err != nil {
			c.HTTPConfig.TLSConfig.CAFile = ""
		}
	}
	if _, err := s3.NewBucketWithConfig(log.NewNopLogger(), c, "vigil-test", nil); err != nil {
		return fmt.Errorf("s3 bucket: %w", err)
	}
	return nil
}
