// Names and labels of the serving children, as Knative stamps them: `<configuration>-00001`, ... for a
// Configuration's generation, or the template's own `metadata.name` ("bring your own"), which must
// start with `<configuration>-` so revisions of different configurations never collide.

import { childName } from '@eddy/api';

export const SERVING_GROUP = 'serving.knative.dev';
export const SERVING_API_VERSION = `${SERVING_GROUP}/v1`;
export const SERVICE_LABEL = 'serving.knative.dev/service';
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';
export const ROUTE_LABEL = 'serving.knative.dev/route';

/** The generated revision name of a Configuration generation: `hello-00003`. */
export function generatedRevisionName(configuration: string, generation: number): string {
  return childName(configuration, `-${String(generation).padStart(5, '0')}`);
}

/** Why a template's explicit name cannot be used, or undefined when it can. */
export function byoNameProblem(configuration: string, name: string): string | undefined {
  if (!name.startsWith(`${configuration}-`))
    return `spec.template.metadata.name ${JSON.stringify(name)} must have prefix ${JSON.stringify(`${configuration}-`)}`;
  return undefined;
}
