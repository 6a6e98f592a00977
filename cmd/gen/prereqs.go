package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

// errMissing is gen prereqs' "the cluster lacks a prerequisite".
var errMissing = errors.New("prerequisites missing")

func prereqsCommand() *cobra.Command {
	var kubeconfig string
	c := &cobra.Command{
		Use:   "prereqs [DIR]",
		Short: "List what an environment needs on the cluster and does not create; check a cluster with --kubeconfig",
		Long: `prereqs lists the environment's prerequisites: the Secrets it references (in
the namespaces of the objects that read them, with their keys), the CSI drivers
and IngressClasses its objects name, and what its prerequisites section adds.
Each has a gate in the rendered Flux tree, and the units named wait for it.
With --kubeconfig it reads each one from that cluster (Secrets: only their
keys, never their values) and exits 1 naming every one that is missing.`,
		Example: `  gen prereqs environments/prod
  gen prereqs environments/prod --kubeconfig ~/.kube/config`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, dirs []string) error {
			r, err := generate.Render(c.Context(), sources(dirs))
			if err != nil {
				return err
			}
			e := r.Environments[0]
			gates, err := overlays.Gates(overlays.Environment{Name: e.Spec.Name, Objects: r.Objects[e.Spec.Name], Prerequisites: generate.Prerequisites(e.Spec), SOPS: e.SOPS()})
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			if kubeconfig == "" {
				printGates(w, e.Spec.Name, gates)
				return nil
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
			}
			return checkGates(c.Context(), cs, gates, w)
		},
	}
	c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "check the prerequisites on the cluster of this kubeconfig (its current context)")
	return c
}

func printGates(w io.Writer, env string, gates []overlays.Gate) {
	fmt.Fprintf(w, "%s: %d prerequisites\n", env, len(gates))
	for _, g := range gates {
		fmt.Fprintf(w, "  %s\n", g.Prerequisite)
		fmt.Fprintf(w, "      gate %s", g.Kustomization)
		if len(g.Units) > 0 {
			fmt.Fprintf(w, ", needed by %s", strings.Join(g.Units, ", "))
		}
		fmt.Fprintf(w, "\n      from %s\n", g.Source)
	}
}

// checkGates reads every prerequisite from the cluster and prints one line
// each; it returns errMissing, wrapped with what is missing, when any is.
func checkGates(ctx context.Context, cs kubernetes.Interface, gates []overlays.Gate, w io.Writer) error {
	var missing []string
	for _, g := range gates {
		problem, err := checkGate(ctx, cs, g)
		if err != nil {
			return fmt.Errorf("checking %s: %w", g.Prerequisite, err)
		}
		if problem == "" {
			fmt.Fprintf(w, "ok       %s\n", g.Prerequisite)
			continue
		}
		fmt.Fprintf(w, "MISSING  %s: %s (blocks %s)\n", g.Prerequisite, problem, strings.Join(g.Units, ", "))
		missing = append(missing, g.Prerequisite.String()+": "+problem)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", errMissing, strings.Join(missing, "; "))
	}
	return nil
}

// checkGate returns what is wrong with one prerequisite on the cluster, or
// "" when it is there. A Secret's values are never read into the message.
func checkGate(ctx context.Context, cs kubernetes.Interface, g overlays.Gate) (string, error) {
	var err error
	switch g.Kind {
	case "Secret":
		var sec *corev1.Secret
		sec, err = cs.CoreV1().Secrets(g.Namespace).Get(ctx, g.Name, metav1.GetOptions{})
		if err == nil {
			var lacks []string
			for _, k := range g.Keys {
				if _, ok := sec.Data[k]; !ok {
					lacks = append(lacks, k)
				}
			}
			if len(lacks) > 0 {
				return "it has no key " + strings.Join(lacks, ", no key "), nil
			}
			return "", nil
		}
	case "CSIDriver":
		_, err = cs.StorageV1().CSIDrivers().Get(ctx, g.Name, metav1.GetOptions{})
	case "IngressClass":
		_, err = cs.NetworkingV1().IngressClasses().Get(ctx, g.Name, metav1.GetOptions{})
	default:
		return "", fmt.Errorf("cannot check kind %s", g.Kind)
	}
	switch {
	case err == nil:
		return "", nil
	case apierrors.IsNotFound(err):
		return "not found", nil
	}
	return "", err
}
