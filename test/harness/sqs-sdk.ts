// @aws-sdk/client-sqs through requireNodeBuild (see node-builds.ts for why). Import values from
// here and types (`import type`) from '@aws-sdk/client-sqs'.
import { requireNodeBuild } from './node-builds.ts';

export const sqsSdk = requireNodeBuild<typeof import('@aws-sdk/client-sqs')>('@aws-sdk/client-sqs');
