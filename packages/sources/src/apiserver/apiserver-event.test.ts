import { compileFilter, type PlainEvent } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import {
  apiServerEvent,
  eventMode,
  guessResource,
  isEmptySelector,
  type KubeObject,
  labelSelectorString,
  missingPermissionsMessage,
  type OwnerReference,
  objectReference,
  ownerFilterPasses,
  selfLink,
  serviceAccountUser,
} from './apiserver-event.js';

const SERVER = 'https://127.0.0.1:6443';

const configMap: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'app', namespace: 'demo', uid: 'u-1', resourceVersion: '42', labels: { app: 'web' } },
  data: { color: 'blue' },
};

const pod = (ownerReferences: OwnerReference[] | undefined): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'demo', ...(ownerReferences ? { ownerReferences } : {}) },
});

describe('apiServerEvent', () => {
  it('Resource mode: the object as data, Knative attributes and extensions', () => {
    const event = apiServerEvent(SERVER, 'Resource', 'add', configMap, 'id-1');
    expect(event).toEqual({
      id: 'id-1',
      type: 'dev.knative.apiserver.resource.add',
      source: SERVER,
      subject: '/apis/v1/namespaces/demo/configmaps/app',
      datacontenttype: 'application/json',
      kind: 'ConfigMap',
      apiversion: 'v1',
      name: 'app',
      namespace: 'demo',
      data: configMap,
    });
    expect(apiServerEvent(SERVER, 'Resource', 'update', configMap).type).toBe(
      'dev.knative.apiserver.resource.update',
    );
    expect(apiServerEvent(SERVER, 'Resource', 'delete', configMap).type).toBe(
      'dev.knative.apiserver.resource.delete',
    );
  });

  it('Reference mode: an ObjectReference without uid or resourceVersion, ref types', () => {
    const event = apiServerEvent(SERVER, 'Reference', 'update', configMap);
    expect(event.type).toBe('dev.knative.apiserver.ref.update');
    expect(event.data).toEqual({ kind: 'ConfigMap', namespace: 'demo', name: 'app', apiVersion: 'v1' });
    // The member order of Go's corev1.ObjectReference JSON.
    expect(Object.keys(event.data as object)).toEqual(['kind', 'namespace', 'name', 'apiVersion']);
    expect(event.id).toBeUndefined();
    expect(apiServerEvent(SERVER, 'Reference', 'add', configMap).type).toBe('dev.knative.apiserver.ref.add');
    expect(apiServerEvent(SERVER, 'Reference', 'delete', configMap).type).toBe(
      'dev.knative.apiserver.ref.delete',
    );
  });

  it('a cluster-scoped object has no namespace in its reference and an empty segment in the subject', () => {
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } };
    expect(objectReference(node)).toEqual({ kind: 'Node', name: 'n1', apiVersion: 'v1' });
    expect(apiServerEvent(SERVER, 'Reference', 'add', node)).toMatchObject({
      subject: '/apis/v1/namespaces//nodes/n1',
      namespace: '',
    });
  });

  it('mode defaults to Reference, as Knative', () => {
    expect(eventMode({})).toBe('Reference');
    expect(eventMode({ mode: 'Reference' })).toBe('Reference');
    expect(eventMode({ mode: 'Resource' })).toBe('Resource');
  });
});

describe('selfLink and the guessed plural', () => {
  it('follows Kubernetes UnsafeGuessKindToResource', () => {
    expect(guessResource('ConfigMap')).toBe('configmaps');
    expect(guessResource('Ingress')).toBe('ingresses');
    expect(guessResource('NetworkPolicy')).toBe('networkpolicies');
    expect(guessResource('Endpoints')).toBe('endpoints');
    expect(guessResource('')).toBe('');
  });

  it('builds /apis/<apiVersion>/namespaces/<ns>/<plural>/<name>, with versionUnknown for a bare group', () => {
    expect(selfLink('apps/v1', 'Deployment', 'demo', 'web')).toBe(
      '/apis/apps/v1/namespaces/demo/deployments/web',
    );
    expect(selfLink('serving.knative.dev', 'Service', 'demo', 'web')).toBe(
      '/apis/serving.knative.dev/versionUnknown/namespaces/demo/services/web',
    );
  });
});

describe('ownerFilterPasses', () => {
  const owned = pod([
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs', controller: true },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' },
  ]);

  it('passes everything without an owner', () => {
    expect(ownerFilterPasses(undefined, pod(undefined))).toBe(true);
  });

  it('only the controller counts, by apiVersion and kind', () => {
    expect(ownerFilterPasses({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }, owned)).toBe(true);
    expect(ownerFilterPasses({ apiVersion: 'apps/v1', kind: 'Deployment' }, owned)).toBe(false);
    expect(ownerFilterPasses({ apiVersion: 'apps/v2', kind: 'ReplicaSet' }, owned)).toBe(false);
    // An owner that is not the controller does not match.
    expect(ownerFilterPasses({ apiVersion: 'v1', kind: 'ConfigMap' }, owned)).toBe(false);
  });

  it('an empty apiVersion or kind matches any; no controller never passes', () => {
    expect(ownerFilterPasses({ apiVersion: '', kind: 'ReplicaSet' }, owned)).toBe(true);
    expect(ownerFilterPasses({ apiVersion: 'apps/v1', kind: '' }, owned)).toBe(true);
    expect(ownerFilterPasses({ apiVersion: '', kind: '' }, pod(undefined))).toBe(false);
    expect(
      ownerFilterPasses({ apiVersion: '', kind: '' }, pod([{ apiVersion: 'v1', kind: 'X', name: 'x' }])),
    ).toBe(false);
  });
});

describe('filters on the built event (the Triggers’ filter code)', () => {
  const asPlain = (event: ReturnType<typeof apiServerEvent>) =>
    ({ specversion: '1.0', ...event }) as PlainEvent;

  it('exact/prefix on the extensions and type, cesql on the subject', () => {
    const add = asPlain(apiServerEvent(SERVER, 'Reference', 'add', configMap, 'i'));
    const del = asPlain(apiServerEvent(SERVER, 'Reference', 'delete', configMap, 'i'));
    const onlyDeletes = compileFilter({ filters: [{ exact: { type: 'dev.knative.apiserver.ref.delete' } }] });
    expect(onlyDeletes(add)).toBe('fail');
    expect(onlyDeletes(del)).toBe('pass');
    const byName = compileFilter({ filters: [{ prefix: { name: 'ap' } }, { exact: { namespace: 'demo' } }] });
    expect(byName(add)).toBe('pass');
    const cesql = compileFilter({ filters: [{ cesql: "subject LIKE '%/configmaps/other'" }] });
    expect(cesql(add)).toBe('fail');
  });
});

describe('labelSelectorString', () => {
  it('prints requirements sorted by key, as Kubernetes does', () => {
    expect(
      labelSelectorString({
        matchLabels: { tier: 'web', app: 'shop' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'dev'] },
          { key: 'zone', operator: 'NotIn', values: ['b'] },
          { key: 'canary', operator: 'DoesNotExist' },
          { key: 'beta', operator: 'Exists' },
        ],
      }),
    ).toBe('app=shop,beta,!canary,env in (dev,prod),tier=web,zone notin (b)');
    expect(labelSelectorString(undefined)).toBe('');
    expect(labelSelectorString({})).toBe('');
  });

  it('an empty namespaceSelector means all namespaces; a missing one does not', () => {
    expect(isEmptySelector({})).toBe(true);
    expect(isEmptySelector({ matchLabels: {} })).toBe(true);
    expect(isEmptySelector(undefined)).toBe(false);
    expect(isEmptySelector({ matchLabels: { a: 'b' } })).toBe(false);
  });
});

describe('permission message', () => {
  it('names the user, the verbs, the resource, its group and the namespace, as Knative', () => {
    const user = serviceAccountUser('demo', 'watcher');
    expect(user).toBe('system:serviceaccount:demo:watcher');
    expect(
      missingPermissionsMessage(user, [
        { verbs: ['list', 'watch'], resource: 'configmaps', group: '', namespace: 'demo' },
        { verbs: ['get'], resource: 'deployments', group: 'apps', namespace: '' },
      ]),
    ).toBe(
      'User system:serviceaccount:demo:watcher cannot list, watch resource "configmaps" in API group "" in Namespace "demo", get resource "deployments" in API group "apps" in all namespaces',
    );
  });
});
