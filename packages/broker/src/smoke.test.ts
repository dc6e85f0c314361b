import { packageName } from '@eddy/api';
import { expect, test } from 'vitest';

test('workspace source resolution', () => {
  expect(packageName).toBe('@eddy/api');
});
