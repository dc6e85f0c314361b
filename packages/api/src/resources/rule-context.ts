import type { FieldPath } from './field-path.js';
import type { Severity } from './problem.js';

export interface RuleFinding {
  severity: Severity;
  /** The field the finding is about (shown to the user). */
  path: FieldPath;
  message: string;
  /**
   * Where to point in the YAML when `path` is not there (a missing field): the nearest existing field
   * is found by walking up from `locate ?? path`.
   */
  locate?: FieldPath;
  /** Point at the field's key instead of its value (the name itself is wrong). */
  atKey?: boolean;
}

/** Collects what the semantic rules find for one resource. */
export class RuleContext {
  readonly findings: RuleFinding[] = [];

  constructor(
    /** The resource's namespace after defaulting. */
    readonly namespace: string,
    readonly name: string,
  ) {}

  error(path: FieldPath, message: string, locate?: FieldPath): void {
    this.findings.push({ severity: 'error', path, message, ...(locate ? { locate } : {}) });
  }

  /** An error about a map key (an attribute or extension name): points at the key. */
  errorAtKey(path: FieldPath, message: string): void {
    this.findings.push({ severity: 'error', path, message, atKey: true });
  }

  warn(path: FieldPath, message: string, locate?: FieldPath): void {
    this.findings.push({ severity: 'warning', path, message, ...(locate ? { locate } : {}) });
  }
}

/** Quotes a value for a message: strings in double quotes, everything else as JSON. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
