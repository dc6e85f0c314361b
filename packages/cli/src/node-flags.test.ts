import { readFileSync } from 'node:fs';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';

// A shebang and a shell script cannot import the constant, so they repeat it; this keeps them equal.
describe('the Node flags eddy runs with', () => {
  it.each([
    ['the shebang of packages/cli/src/main.ts', new URL('./main.ts', import.meta.url), 0],
    ['the ./eddy script', new URL('../../../eddy', import.meta.url), -1],
  ])('%s passes COMPONENT_NODE_FLAGS', (_what, file, lineIndex) => {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const words = (lines.at(lineIndex) ?? '').split(/\s+/);
    for (const flag of COMPONENT_NODE_FLAGS) expect(words).toContain(flag);
  });
});
