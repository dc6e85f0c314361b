// What a ContainerSource's container prints, on its way out of an `eddy sources` process: one JSON
// line on stdout per output line (whatever the log level, as a service's output is not a log), with a
// field its supervisor (`eddy dev`) recognises to show it as it shows a service's output.

/** The field that marks a line as container output. */
export const CONTAINER_OUTPUT_FIELD = 'containerOutput';

export interface ContainerOutputLine {
  namespace: string;
  name: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** The JSON line (without the newline) that carries `output`. */
export function containerOutputLine(output: ContainerOutputLine): string {
  return JSON.stringify({
    time: Date.now(),
    msg: `${output.namespace}/${output.name} | ${output.line}`,
    [CONTAINER_OUTPUT_FIELD]: output,
  });
}

/** The container output a process line carries, or undefined for any other line. */
export function parseContainerOutputLine(text: string): ContainerOutputLine | undefined {
  if (!text.includes(CONTAINER_OUTPUT_FIELD)) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return undefined;
  }
  const output = (entry as Record<string, unknown> | null)?.[CONTAINER_OUTPUT_FIELD] as
    | Partial<ContainerOutputLine>
    | undefined;
  if (
    typeof output?.namespace !== 'string' ||
    typeof output.name !== 'string' ||
    (output.stream !== 'stdout' && output.stream !== 'stderr') ||
    typeof output.line !== 'string'
  )
    return undefined;
  return output as ContainerOutputLine;
}
