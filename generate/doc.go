// Package generate is Vigil's library: it loads an environment directory
// (CUE) against the embedded schema, checks it, and builds the typed
// Kubernetes objects of the whole monitoring and logging stack.
//
// The pipeline is load → validate → generate objects; package overlays
// compiles the objects into kustomize bases, overlays and Flux
// Kustomizations, verifies them and writes them. Render does all of it.
//
// # Extending Vigil from Go
//
// A platform team's own program can add to what Render generates without
// forking Vigil:
//
//	r, err := generate.Render(ctx, sources,
//		generate.WithComponent("team-exporter", func(e *generate.Environment, s *stack.Set) error {
//			s.Add("team-exporter", stack.Instances, deployment, service)
//			s.Add("team-exporter", stack.Content, serviceMonitor)
//			return nil
//		}),
//		generate.WithTransform("site-toleration", func(e *generate.Environment, r stack.Resource) error {
//			// change r.Object in place
//			return nil
//		}),
//	)
//
// WithComponent adds a component: typed objects (anything with ObjectMeta
// and TypeMeta whose Go type is in stack.Scheme: the built-in kinds,
// monitoring.coreos.com and Flux; register others with stack.AddToScheme),
// each in a layer (stack.Namespaces … stack.Content). They are compiled like Vigil's own: a base from Vigil's
// default environment, an overlay per environment, a Flux Kustomization per
// layer (<env>-<component>-<layer>) that depends on what its objects
// reference (their Namespace, CRDs, operator, Secrets, …), and the
// round-trip verification that builds every kustomization and compares the
// result with the objects. The generate function runs for every environment
// and for the default one; the name must not be one of Vigil's components.
//
// WithTransform changes every object after all components have generated,
// Vigil's and the extensions' (a label, a toleration, an annotation a site
// policy requires). Transforms run in order, then the mirror registry
// (images.registry) is applied, so an extension's images move too.
//
// An environment may carry fields for the platform's own program under
// extensions (schema/platform.cue): extensions: acme: {team: "obs"}.
// (*Environment).Extension decodes one key into a Go value, rejecting
// fields the value does not have. Vigil never reads them, and scans them
// for credentials like every other field.
//
// examples/platform in Vigil's repository is a separate module that does
// this end to end, with its test.
package generate
