// Node flags every data-plane process runs with (eddy dev's supervisor, the `eddy` command's
// shebang, container images via NODE_OPTIONS).
//
// --max-semi-space-size=16: V8 sizes the young generation from the machine's memory; on a 24 GiB
// machine it chose 64 MB semi-spaces (128 MB new space), and under ingest load the process kept
// all of it: a data plane that holds 40 MB of live heap sat at 300 MB RSS. With 16 MB semi-spaces
// the same 20k-event ingest peaks ~100 MB lower, and the scavenger still runs rarely enough that
// short-lived request objects die young (bench/RESULTS.md, "young generation").
export const COMPONENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
