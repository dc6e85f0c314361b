// Events of every data shape and with every optional attribute, for batching tests. Not exported
// from the package index; tests import it by path.

import type { EventInit } from '../sdk/adapter.js';

/** Event number `i`: data JSON, text, bytes or none (by i % 4); extension `team` is `red`. */
export function mixedEvent(i: number): EventInit {
  const base = {
    id: `ev-${i}`,
    source: `/test/source/${i % 7}`,
    type: 'dev.eddy.test.batch',
    time: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)).toISOString(),
    seq: String(i),
    team: 'red', // overridden by ceOverrides
  };
  switch (i % 4) {
    case 0:
      return { ...base, datacontenttype: 'application/json', data: { n: i, text: 'wörld' } };
    case 1:
      return { ...base, datacontenttype: 'text/plain', subject: `s-${i}`, data: `line ${i}` };
    case 2:
      return { ...base, data: Buffer.from([i % 256, 0, 255, 10]) };
    default:
      return { ...base, dataschema: 'https://example.com/schema', flag: true, count: i };
  }
}
