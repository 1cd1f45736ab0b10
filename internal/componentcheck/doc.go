// Package componentcheck validates orderflow's Dapr resource profiles (components/<profile>/ and
// components/shared/) against the component definitions of the daprd release orderflow runs, so that a typo
// in a metadata key, a component daprd does not have, an inline credential or a profile that drifted from
// the others fails `make test` instead of a sidecar at start-up (or, worse, silently: Dapr ignores unknown
// metadata keys).
//
// Where the definitions come from:
//
//   - Which component types and versions exist: the registrations compiled into daprd, read from
//     github.com/dapr/dapr@<DaprVersion>/cmd/daprd/components/*.go (parsed with go/ast, build tags noted).
//   - What each component accepts: github.com/dapr/components-contrib at the version dapr's go.mod pins. Its
//     metadata.yaml files (schema: component-metadata-schema.json in that module) list the metadata keys,
//     which are required or sensitive, and the authentication profiles. Where a file contradicts its
//     component's code (a per-request key marked required, an authentication fallback left out),
//     metadataOverrides corrects it, each entry citing the code. A component version without a
//     metadata.yaml (in v1.18.3 only state.etcd v2) is defined by the struct its GetComponentMetadata
//     method reflects on (the same struct daprd's metadata API reports), read from the Go source.
//   - The built-in authentication profiles that metadata.yaml files import by name ("aws", "azuread",
//     "gcp") live in components-contrib's .build-tools, which is not part of the module; builtin.go restates
//     them, with their sources.
//   - Keys every component of a kind accepts because daprd itself reads them (pub/sub scoping, state key
//     prefixes, binding direction, ...) are in builtin.go too, each with the daprd source that reads it.
//
// Both modules are located with `go mod download -json`, so the checker reads exactly the module versions
// the Go toolchain resolves, from wherever the module cache is.
//
// The rules, the messages they produce and the judgement calls behind them are documented on Check.
package componentcheck
