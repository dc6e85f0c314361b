import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPaths } from './load.js';
import { formatProblem } from './problem.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

/** Problems of one hand-made broken file, formatted as `eddy validate` prints them (path relative to the fixtures). */
async function problemsOf(name: string): Promise<string[]> {
  const result = await loadPaths([join(FIXTURES, name)]);
  return result.problems.map((p) => formatProblem({ ...p, file: relative(FIXTURES, p.file) }));
}

describe('hand-made broken manifests are rejected with located messages', () => {
  it('unknown kind: names the kind, suggests the right one and lists the supported kinds', async () => {
    const [line, ...rest] = await problemsOf('unknown-kind.yaml');
    expect(rest).toEqual([]);
    expect(line).toMatch(
      /^unknown-kind\.yaml:2:7: error: #0 Trigerr typo: kind: unknown kind "Trigerr" for eventing\.knative\.dev\/v1; did you mean Trigger \(eventing\.knative\.dev\/v1\)\? Kinds are case-sensitive\. Supported kinds: eventing\.knative\.dev\/v1 Broker, eventing\.knative\.dev\/v1 Trigger, /,
    );
    for (const kind of ['KafkaChannel', 'PingSource', 'SqsSource', 'PubSubSource', 'Route'])
      expect(line).toContain(kind);
  });

  it('missing required field: points at the parent key', async () => {
    expect(await problemsOf('missing-required.yaml')).toEqual([
      'missing-required.yaml:5:1: error: #0 Subscription default/orders: spec.subscriber: required field is missing',
    ]);
  });

  it('wrong type: expected vs found', async () => {
    expect(await problemsOf('wrong-type.yaml')).toEqual([
      'wrong-type.yaml:10:12: error: #0 Trigger default/retries: spec.delivery.retry: expected an integer, found string "three"',
    ]);
  });

  it('bad ISO-8601 durations', async () => {
    expect(await problemsOf('bad-duration.yaml')).toEqual([
      'bad-duration.yaml:8:19: error: #0 Broker default/slow: spec.delivery.backoffDelay: expected an ISO-8601 duration such as "PT0.5S", "PT10S" or "PT1M", found "5s"',
      'bad-duration.yaml:9:14: error: #0 Broker default/slow: spec.delivery.timeout: expected a duration greater than zero, found "PT0S"',
    ]);
  });

  it('traffic percents that do not sum to 100 and a duplicate tag', async () => {
    expect(await problemsOf('traffic.yaml')).toEqual([
      'traffic.yaml:10:3: error: #0 Service default/shop: spec.traffic: traffic percents sum to 90, expected 100',
      'traffic.yaml:16:12: error: #0 Service default/shop: spec.traffic[1].tag: duplicate tag "stable" (also traffic[0].tag)',
    ]);
  });

  it('invalid metadata.name', async () => {
    expect(await problemsOf('invalid-name.yaml')).toEqual([
      'invalid-name.yaml:4:9: error: #0 Broker default/My_Broker: metadata.name: "My_Broker" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
    ]);
  });

  it('YAML syntax error: file, document, line and column; the other documents are still checked', async () => {
    // Kept as .txt so the repository's linter does not trip over the deliberate syntax error.
    const dir = await mkdtemp(join(tmpdir(), 'eddy-yaml-syntax-'));
    await copyFile(join(FIXTURES, 'yaml-syntax.yaml.txt'), join(dir, 'yaml-syntax.yaml'));
    const result = await loadPaths([join(dir, 'yaml-syntax.yaml')]);
    expect(result.problems.map((p) => formatProblem({ ...p, file: relative(dir, p.file) }))).toEqual([
      'yaml-syntax.yaml:9:9: error: #1: YAML syntax error: Nested mappings are not allowed in compact mappings',
    ]);
    expect(result.documents.map((d) => [d.origin.document, d.status, d.name])).toEqual([
      [0, 'ok', 'before-the-error'],
      [1, 'unparsable', undefined],
      [2, 'ok', 'after-the-error'],
    ]);
  });

  it('trigger filters: two dialects in one entry, bad attribute names, relative uri without ref', async () => {
    expect(await problemsOf('filters.yaml')).toEqual([
      'filters.yaml:9:7: error: #0 Trigger default/filters: spec.filter.attributes.Type: invalid attribute name "Type": must start with a lowercase letter and contain only lowercase letters and digits',
      'filters.yaml:11:7: error: #0 Trigger default/filters: spec.filters[0]: multiple dialects found (exact, prefix); a filters entry must set exactly one of exact, prefix, suffix, all, any, not, cesql (list several entries to AND them)',
      'filters.yaml:17:11: error: #0 Trigger default/filters: spec.filters[1].not.suffix.my-ext: invalid attribute name "my-ext": must start with a lowercase letter and contain only lowercase letters and digits',
      'filters.yaml:19:10: error: #0 Trigger default/filters: spec.subscriber.uri: expected an absolute URI (scheme and host) when "ref" is absent, found "/relative-without-ref"',
    ]);
  });

  it('CESQL filters: the field line, then the column inside the expression and what was expected', async () => {
    expect(await problemsOf('cesql.yaml')).toEqual([
      `cesql.yaml:8:14: error: #0 Trigger default/cesql-filters: spec.filters[0].cesql: invalid CESQL expression "type = 'com.example.order' AND (source LIKE '/orders%'": expected ')' at column 55, found end of input (to close the '(' at column 32)`,
      `cesql.yaml:10:18: error: #0 Trigger default/cesql-filters: spec.filters[1].any[0].cesql: invalid CESQL expression "LEFT(subject) = 'a'": wrong number of arguments for LEFT at column 1, found 1 argument (LEFT takes 2 arguments)`,
      `cesql.yaml:11:18: error: #0 Trigger default/cesql-filters: spec.filters[1].any[1].cesql: invalid CESQL expression "myext LIKE 123": expected a string literal pattern after LIKE (the pattern cannot be computed) at column 12, found integer 123`,
      `cesql.yaml:12:14: warning: #0 Trigger default/cesql-filters: spec.filters[2].cesql: CESQL expression "type = 'x' OR subject = 'y' AND EXISTS myext": OR and AND have the same precedence in CESQL and are evaluated left to right, so 'a OR b AND c' means '(a OR b) AND c'; SQL and other CESQL engines may group it differently, so add parentheses to make the intent explicit (at column 29)`,
    ]);
  });

  it('PingSource: cron field count, @every, time zone, data vs dataBase64, JSON data', async () => {
    expect(await problemsOf('ping.yaml')).toEqual([
      'ping.yaml:6:13: error: #0 PingSource default/ping: spec.schedule: "*/5 * * *" has 4 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)',
      'ping.yaml:8:9: error: #0 PingSource default/ping: spec.data: contentType is application/json but data is not a JSON object: "not json"',
      'ping.yaml:20:13: error: #1 PingSource default/ping-tz: spec.schedule: unsupported descriptor @every in "@every 1m" (use a cron expression)',
      'ping.yaml:21:13: error: #1 PingSource default/ping-tz: spec.timezone: unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Paris")',
      'ping.yaml:23:15: error: #1 PingSource default/ping-tz: spec.dataBase64: expected only one of "data" and "dataBase64", found both',
    ]);
  });

  it('unknown fields: located at the key, with a case hint', async () => {
    expect(await problemsOf('unknown-field.yaml')).toEqual([
      'unknown-field.yaml:5:3: error: #0 Trigger default/typo-fields: metadata.namepsace: unknown field "namepsace"',
      'unknown-field.yaml:9:5: error: #0 Trigger default/typo-fields: spec.subscriber.ref.apiVersion: required field is missing',
      'unknown-field.yaml:10:7: error: #0 Trigger default/typo-fields: spec.subscriber.ref.apiversion: unknown field "apiversion"; did you mean "apiVersion"? (field names are case-sensitive)',
    ]);
  });

  it('a directory: every file is checked, sorted by file and line', async () => {
    const result = await loadPaths([FIXTURES]);
    const files = new Set(result.problems.map((p) => relative(FIXTURES, p.file)));
    expect([...files].sort()).toEqual([
      'bad-duration.yaml',
      'cesql.yaml',
      'filters.yaml',
      'invalid-name.yaml',
      'missing-required.yaml',
      'ping.yaml',
      'traffic.yaml',
      'unknown-field.yaml',
      'unknown-kind.yaml',
      'wrong-type.yaml',
    ]);
  });
});
