// CESQL evaluation cost: a 3-clause expression compiled once with @eddy/api's CESQL, then evaluated
// in a loop against one event's attributes (matching, so every clause runs).
import { compileCesql } from '@eddy/api';

export const CESQL_EXPRESSION =
  "type = 'dev.eddy.bench.broker' AND source LIKE '/bench/%' AND EXISTS subject";

export interface CesqlResultRow {
  expression: string;
  nsPerOp: number;
  iterations: number;
}

export function benchCesql(iterations = 2_000_000): CesqlResultRow {
  const compiled = compileCesql(CESQL_EXPRESSION);
  const event = {
    specversion: '1.0',
    id: 'e-1',
    type: 'dev.eddy.bench.broker',
    source: '/bench/broker',
    subject: 'orders',
  };
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (compiled.matches(event)) hits++; // warm-up (JIT)
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (compiled.matches(event)) hits++;
  const ns = Number(process.hrtime.bigint() - started);
  if (hits !== iterations + 200_000)
    throw new Error(`CESQL bench: expected every evaluation to match, got ${hits}`);
  return { expression: CESQL_EXPRESSION, nsPerOp: ns / iterations, iterations };
}
