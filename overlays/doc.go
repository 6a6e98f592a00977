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
//	envs/<env>/<layer>/                an overlay per non-empty layer:
//	    kustomization.yaml             the bases it includes, the environment
//	                                   label, its patches and resources
//	    patches/<component>/<file>     a change to one base object, named like
//	                                   the base file it patches
//	    resources/<component>/<file>   an object the environment has and the
//	                                   base has not
//	clusters/<env>/                    the Flux objects: a Kustomization per
//	                                   layer and per upstream, a GitRepository
//	                                   per upstream, and their kustomization.yaml
//
// Bases are split by layer because Flux applies each layer on its own and a
// kustomization cannot include part of a directory; <component>/<layer>
// keeps a component in one place, and no path moves when a component gains
// a layer. A base depends on the default environment alone, never on the
// environments rendered with it.
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
package overlays
