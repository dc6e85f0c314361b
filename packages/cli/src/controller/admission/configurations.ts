import { crdKinds } from '@eddy/api';
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';

/** A cluster-scoped ClusterRole whose deletion takes the webhook configurations along. */
export interface WebhookOwner {
  name: string;
  uid: string;
}

/** The uid of ClusterRole `name`, for WebhookOwner. */
export async function clusterRoleOwner(kubeConfig: KubeConfig, name: string): Promise<WebhookOwner> {
  const role = await kubeConfig.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name });
  const uid = role.metadata?.uid;
  if (!uid) throw new Error(`ClusterRole ${name} has no uid`);
  return { name, uid };
}

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

function webhook(
  name: string,
  target: WebhookTarget,
  path: string,
  namespace: string | undefined,
): Record<string, unknown> {
  return {
    name,
    clientConfig: clientConfig(target, path),
    // A controller that reconciles one namespace (--namespace) admits that namespace's objects only.
    ...(namespace
      ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } }
      : {}),
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
export function webhookConfigurations(
  target: WebhookTarget,
  options: { namespace?: string; owner?: WebhookOwner } = {},
): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/part-of': 'eddy' };
  const { namespace, owner } = options;
  // Deleting the owner (e.g. the chart's ClusterRole at `helm uninstall`) garbage-collects them, so a
  // webhook nobody serves does not go on refusing every change to Eddy's kinds (failurePolicy Fail).
  const ownerReferences = owner
    ? [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: owner.name, uid: owner.uid }]
    : undefined;
  const suffix = namespace ? `-${namespace}` : '';
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `eddy-defaulting${suffix}`, labels, ...(ownerReferences ? { ownerReferences } : {}) },
      webhooks: [
        { ...webhook(DEFAULTING_WEBHOOK_NAME, target, '/default', namespace), reinvocationPolicy: 'Never' },
      ],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `eddy-validation${suffix}`, labels, ...(ownerReferences ? { ownerReferences } : {}) },
      webhooks: [webhook(VALIDATING_WEBHOOK_NAME, target, '/validate', namespace)],
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
