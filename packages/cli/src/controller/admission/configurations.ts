import { crdKinds } from '@eddy/api';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';

/** Where the API server reaches the webhook: a URL (a local process) or an in-cluster Service. */
export type WebhookTarget =
  | { url: string; caBundle: string }
  | { service: { namespace: string; name: string; port?: number }; caBundle: string };

export const VALIDATING_WEBHOOK_NAME = 'validation.webhook.eddy.dev';
export const DEFAULTING_WEBHOOK_NAME = 'defaulting.webhook.eddy.dev';

function clientConfig(target: WebhookTarget, path: string): Record<string, unknown> {
  if ('url' in target) return { url: `${target.url.replace(/\/$/, '')}${path}`, caBundle: target.caBundle };
  return { service: { ...target.service, path }, caBundle: target.caBundle };
}

/**
 * One rule per kind Eddy serves as a custom resource, every version. Secrets and ConfigMaps are not
 * sent to the webhook: with failurePolicy Fail, a webhook that is down would block every Secret and
 * ConfigMap of the cluster, for the few that Eddy reads (and checks when it reads them).
 */
function rules(): Record<string, unknown>[] {
  return crdKinds().map(({ names }) => ({
    apiGroups: [names.group],
    apiVersions: [...names.versions],
    operations: ['CREATE', 'UPDATE'],
    resources: [names.plural],
    scope: 'Namespaced',
  }));
}

function webhook(name: string, target: WebhookTarget, path: string): Record<string, unknown> {
  return {
    name,
    clientConfig: clientConfig(target, path),
    rules: rules(),
    admissionReviewVersions: ['v1'],
    // Only Eddy's own kinds and versions, whichever version a client uses.
    matchPolicy: 'Equivalent',
    // An object that was not checked must not be stored: Eddy's controllers assume valid resources.
    failurePolicy: 'Fail',
    sideEffects: 'None',
    timeoutSeconds: 10,
  };
}

/**
 * The Mutating (defaults `eddy validate` applies that a CRD schema cannot hold) and Validating (every
 * rule of `eddy validate`) webhook configurations for all of Eddy's kinds.
 */
export function webhookConfigurations(target: WebhookTarget): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/part-of': 'eddy' };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'eddy-defaulting', labels },
      webhooks: [{ ...webhook(DEFAULTING_WEBHOOK_NAME, target, '/default'), reinvocationPolicy: 'Never' }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'eddy-validation', labels },
      webhooks: [webhook(VALIDATING_WEBHOOK_NAME, target, '/validate')],
    },
  ];
}

/**
 * Creates or updates the configurations with server-side apply (field manager `eddy-controller`, forced:
 * the controller owns them), so a restart with a new URL or caBundle simply takes over. `kubeConfig` is a
 * loaded KubeConfig or the path of a kubeconfig file.
 */
export async function registerAdmissionWebhooks(
  kubeConfig: KubeConfig | string,
  configs: readonly Record<string, unknown>[],
): Promise<void> {
  let kc = kubeConfig;
  if (typeof kc === 'string') {
    const path = kc;
    kc = new KubeConfig();
    kc.loadFromFile(path);
  }
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const config of configs) {
    await client.patch(
      config as { apiVersion: string; kind: string; metadata: { name: string } },
      undefined,
      undefined,
      'eddy-controller',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
}
