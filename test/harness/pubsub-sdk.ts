// @google-cloud/pubsub through requireNodeBuild (see node-builds.ts for why). Import values from
// here and types (`import type`) from '@google-cloud/pubsub'.
import { requireNodeBuild } from './node-builds.ts';

export const pubsubSdk = requireNodeBuild<typeof import('@google-cloud/pubsub')>('@google-cloud/pubsub');
