// Derived names (topics, consumer groups, channel paths) can collide: `knative-broker-<ns>-<name>` is the
// same for broker `a-b` in namespace `x` and broker `b` in namespace `x-a`. Two brokers sharing a topic, or
// two triggers sharing a consumer group (each would see half the events), must never reach the data plane.

export interface Claim<T> {
  /** The derived name being claimed. */
  name: string;
  owner: T;
  /** Held this name in the previous contract: keeps it, so a newcomer never takes a name over. */
  incumbent: boolean;
}

export interface ClaimOutcome<T> {
  winners: Set<T>;
  /** Loser -> the winner it lost to. */
  losers: Map<T, T>;
}

/** Claims must come in a deterministic order: among non-incumbents, the first one wins. */
export function settleClaims<T>(claims: readonly Claim<T>[]): ClaimOutcome<T> {
  const byName = new Map<string, Claim<T>[]>();
  for (const c of claims) {
    const list = byName.get(c.name);
    if (list) list.push(c);
    else byName.set(c.name, [c]);
  }
  const winners = new Set<T>();
  const losers = new Map<T, T>();
  for (const list of byName.values()) {
    const winner = list.find((c) => c.incumbent) ?? list[0]!;
    winners.add(winner.owner);
    for (const c of list) if (c !== winner) losers.set(c.owner, winner.owner);
  }
  return { winners, losers };
}
