// Runs a sources contract on a SourceRunner, one generation after another: sources gone from it are
// removed, new and changed ones applied (an unchanged one is left running), and one the runner
// refuses (an adapter this process lacks, a spec it rejects) is reported Ready False without holding
// back the others. statuses() is what the process reports to its feed. As one member of several
// (`shard`), it runs only the sources placed on it.

import { placedSources, type SourceShard, shardText } from '../control/placement.js';
import type { SourceDefinition, SourcePlacement } from '../sdk/adapter.js';
import { type SourceRunner, type SourceStatus, sourceKey } from '../sdk/runner.js';
import type { SourcesContract, SourcesContractValues } from './contract.js';

export interface ContractApplierOptions {
  runner: SourceRunner;
  /** Where the runner's sources find their Secret/ConfigMap values (contractValueStore()). */
  values: { set(values: SourcesContractValues): void };
  logger: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  /**
   * This process as a member of several (`--shard i/N`): it runs only the contract's sources placed
   * on it (control/placement.ts), `placement` telling each kind's. Default: every source.
   */
  shard?: { shard: SourceShard; placement(apiVersion: string, kind: string): SourcePlacement };
}

interface Refused {
  definition: SourceDefinition;
  message: string;
  at: string;
}

export class ContractApplier {
  #generation: number | undefined;
  readonly #refused = new Map<string, Refused>();
  readonly #o: ContractApplierOptions;

  constructor(options: ContractApplierOptions) {
    this.#o = options;
  }

  /** The generation running now; undefined before the first contract. */
  get generation(): number | undefined {
    return this.#generation;
  }

  /** Runs `contract` unless it is not newer than the running one (then logged and ignored). */
  async apply(contract: SourcesContract): Promise<void> {
    const { runner, logger } = this.#o;
    if (this.#generation !== undefined && contract.generation <= this.#generation) {
      logger.info(
        { generation: contract.generation },
        `ignoring contract generation ${contract.generation} (running ${this.#generation})`,
      );
      return;
    }
    // Values first: a source restarted below because its values changed must find the new ones.
    this.#o.values.set(contract.values);
    const shard = this.#o.shard;
    const placed = shard ? placedSources(contract.sources, shard.shard, shard.placement) : contract.sources;
    const elsewhere = contract.sources.length - placed.length;
    const wanted = new Map(placed.map((s) => [sourceKey(s), s]));
    await Promise.all(runner.statuses().map((s) => (wanted.has(s.key) ? undefined : runner.remove(s.key))));
    for (const key of this.#refused.keys()) if (!wanted.has(key)) this.#refused.delete(key);
    await Promise.all(
      [...wanted].map(async ([key, definition]) => {
        try {
          await runner.apply(definition);
          this.#refused.delete(key);
        } catch (error) {
          const message = (error as Error).message;
          if (this.#refused.get(key)?.message !== message) {
            logger.warn({ source: key }, `source ${key} refused: ${message}`);
            this.#refused.set(key, { definition, message, at: new Date().toISOString() });
          }
          await runner.remove(key);
        }
      }),
    );
    this.#generation = contract.generation;
    logger.info(
      {
        generation: contract.generation,
        sources: wanted.size,
        refused: this.#refused.size,
        ...(shard ? { shard: shardText(shard.shard), elsewhere } : {}),
      },
      `applied contract generation ${contract.generation} (${wanted.size} source${wanted.size === 1 ? '' : 's'}${this.#refused.size ? `, ${this.#refused.size} refused` : ''}${shard && shard.shard.count > 1 ? `; shard ${shardText(shard.shard)}, ${elsewhere} on other members` : ''})`,
    );
  }

  /** Every source of the running contract: the runner's statuses and the refused ones. */
  statuses(): SourceStatus[] {
    const refused = [...this.#refused].map(
      ([key, { definition: d, message, at }]): SourceStatus => ({
        key,
        apiVersion: d.apiVersion,
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        ready: { type: 'Ready', status: 'False', reason: 'InvalidSource', message, lastTransitionTime: at },
      }),
    );
    return [...this.#o.runner.statuses(), ...refused].sort((a, b) => a.key.localeCompare(b.key));
  }
}
