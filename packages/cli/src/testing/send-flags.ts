// The flags `eddy send` cannot do without, with throwaway values: the tests of everything else a send
// takes (data, ids, extensions, refusals), in process and spawned, start from these.
export const MINIMAL_SEND_FLAGS = ['--broker', 'default', '--type', 't', '--source', 's'] as const;
