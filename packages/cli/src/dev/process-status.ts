// How the admin API's status shows a supervised data-plane process: what its contract feed last
// heard from it, with its pid now.

import type { MemberState } from '@eddy/runtime';
import type { ComponentProcessStatus } from '../admin/protocol.js';

export function processStatus(
  member: MemberState,
  pid: number | undefined,
  now = Date.now(),
): ComponentProcessStatus {
  return {
    id: member.id,
    component: member.component,
    ...(pid !== undefined ? { pid } : {}),
    ...(member.applied !== undefined ? { generation: member.applied } : {}),
    ...(member.error !== undefined ? { error: member.error } : {}),
    lastSeenMs: now - member.lastSeen,
  };
}
