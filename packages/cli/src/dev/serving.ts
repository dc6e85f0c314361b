// The serving pieces `eddy dev` composes: reconcileServing (control) and createServingDataPlane (router,
// autoscaler, process runtime). An interface, so tests (and a future Kubernetes runtime) can swap them.

import {
  createServingDataPlane,
  type ReconcileServingInput,
  type ReconcileServingResult,
  reconcileServing,
  type ServingDataPlane,
  type ServingDataPlaneOptions,
} from '@eddy/serving';

export interface ServingModule {
  createServingDataPlane(options: ServingDataPlaneOptions): Promise<ServingDataPlane>;
  reconcileServing(input: ReconcileServingInput): ReconcileServingResult;
}

export const defaultServing: ServingModule = { createServingDataPlane, reconcileServing };
