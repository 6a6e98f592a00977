package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-stack/vigil/generate"
)

func imagesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "images [DIR]",
		Short: "Print every image an environment's rendered tree runs, one per line, sorted",
		Long: `images renders the environment and prints every container image its tree
uses once, sorted: container, init container and custom resource images, images
in operator flags and Helm values, and the Elasticsearch and Kibana images ECK
derives from their version. With images.registry set they are the mirror's
references; feed the list to crane copy, skopeo or a registry's import.`,
		Example: `  gen images environments/prod`,
		Args:    args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, dirs []string) error {
			r, err := generate.Render(c.Context(), sources(dirs))
			if err != nil {
				return err
			}
			e := r.Environments[0]
			refs, err := generate.Images(e.Spec, r.Objects[e.Spec.Name])
			if err != nil {
				return err
			}
			for _, ref := range refs {
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return nil
		},
	}
}
