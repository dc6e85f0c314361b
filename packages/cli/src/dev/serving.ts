// The serving pieces `eddy dev` composes: reconcileServing (control) and createServingDataPlane (router,
// autoscaler, process runtime). Looked up at run time so the CLI keeps working, with Services reported
// as ServingUnavailable, in a build where serving does not export them.

import type {
  ReconcileServingInput,
  ReconcileServingResult,
  ServingDataPlane,
  ServingDataPlaneOptions,
} from '@eddy/serving';

export interface ServingModule {
  createServingDataPlane(options: ServingDataPlaneOptions): Promise<ServingDataPlane>;
  reconcileServing(input: ReconcileServingInput): ReconcileServingResult;
}

export async function loadServing(): Promise<ServingModule | undefined> {
  const mod = (await import('@eddy/serving')) as Record<string, unknown>;
  const create = mod.createServingDataPlane;
  const reconcile = mod.reconcileServing;
  if (typeof create !== 'function' || typeof reconcile !== 'function') return undefined;
  return {
    createServingDataPlane: create as ServingModule['createServingDataPlane'],
    reconcileServing: reconcile as ServingModule['reconcileServing'],
  };
}
