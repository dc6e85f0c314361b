// The adapters every Eddy ships with. An adapter written for this package adds itself here.
import { apiServerSourceAdapter } from './apiserver/adapter.js';
import { containerSourceAdapter } from './container/container-source.js';
import { githubSourceAdapter } from './github/github-source.js';
import { kafkaSourceAdapter } from './kafka/kafka-source.js';
import { pingSourceAdapter } from './ping/ping-source.js';
import { pubsubSourceAdapter } from './pubsub/pubsub-source.js';
import type { SourceAdapter } from './sdk/adapter.js';
import { SourceRegistry } from './sdk/registry.js';
import { sqsSourceAdapter } from './sqs/sqs-source.js';

/** Built-in adapters, registered by createSourceRegistry(). */
export const builtinAdapters: readonly SourceAdapter[] = [
  pingSourceAdapter as SourceAdapter,
  containerSourceAdapter as SourceAdapter,
  kafkaSourceAdapter as SourceAdapter,
  githubSourceAdapter as SourceAdapter,
  pubsubSourceAdapter as SourceAdapter,
  sqsSourceAdapter as SourceAdapter,
  apiServerSourceAdapter as SourceAdapter,
];

/** A registry with the built-in adapters (pass `{ builtins: false }` for an empty one). */
export function createSourceRegistry(options: { builtins?: boolean } = {}): SourceRegistry {
  const registry = new SourceRegistry();
  if (options.builtins !== false) {
    for (const adapter of builtinAdapters) registry.register(adapter, { origin: '@eddy/sources' });
  }
  return registry;
}
