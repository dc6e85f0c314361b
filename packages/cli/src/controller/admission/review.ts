// admission.k8s.io/v1 AdmissionReview handling, independent of the HTTP server so it can be tested
// with plain objects: `/validate` answers with `eddy validate`'s verdict, `/default` with a JSON patch
// of `eddy validate`'s defaulting.

import { kindForResource, validateObject } from '@eddy/api';
import { defaultingPatch } from './json-patch.js';

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  namespace?: string;
  name?: string;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

const review = (response: AdmissionResponse): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response,
});

/**
 * Only creates and updates of Eddy's own kinds are judged. A DELETE carries no new object; an object
 * already being deleted must stay updatable (finalizers are removed by updates), whatever it contains;
 * the status subresource is the controller's, not the user's.
 */
function judged(req: AdmissionRequest): boolean {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return false;
  if (req.subResource) return false;
  if (req.resource && !kindForResource(req.resource.group, req.resource.resource)) return false;
  const meta = req.object?.metadata as Record<string, unknown> | undefined;
  return !meta?.deletionTimestamp && !!req.object;
}

/**
 * With `generateName`, the API server makes up the name after mutating admission: the defaulting webhook
 * sees no name, which `eddy validate` (rightly) calls an error. A stand-in name lets the other defaults
 * still be computed.
 */
function standInName(object: Record<string, unknown>): string | undefined {
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  if (meta.name || typeof meta.generateName !== 'string' || !meta.generateName) return undefined;
  return `${meta.generateName}zeddyz`;
}

function withName(object: Record<string, unknown>, name: string): Record<string, unknown> {
  return { ...object, metadata: { ...(object.metadata as object), name } };
}

/** A request body that is not an AdmissionReview with a request: the API server never sends one. */
export class BadReviewError extends Error {}

function requestOf(body: unknown): AdmissionRequest {
  const req = (body as AdmissionReview | undefined)?.request;
  if (!req || typeof req.uid !== 'string')
    throw new BadReviewError('expected an admission.k8s.io/v1 AdmissionReview with a request');
  return req;
}

/**
 * `/validate`: allowed, or denied with every error `eddy validate` reports for the object, one per line,
 * as `Kind namespace/name: field.path: message` (the file and line `eddy validate` adds mean nothing
 * here). Warnings go back as admission warnings, which kubectl prints.
 */
export function validateReview(body: unknown): AdmissionReview {
  const req = requestOf(body);
  if (!judged(req)) return review({ uid: req.uid, allowed: true });
  const v = validateObject(req.object, req.namespace);
  const warnings = v.warnings.length > 0 ? { warnings: v.warnings } : {};
  if (v.valid) return review({ uid: req.uid, allowed: true, ...warnings });
  return review({
    uid: req.uid,
    allowed: false,
    status: { code: 400, reason: 'BadRequest', message: v.errors.join('\n') },
    ...warnings,
  });
}

/**
 * `/default`: `eddy validate`'s defaulting (applyDefaults) as a JSON patch, for the defaults a structural
 * schema cannot hold (see packages/api/src/crds/crd.ts). An invalid object is let through unpatched: the
 * validating webhook, which runs after every mutation, refuses it with the reason.
 */
export function defaultReview(body: unknown): AdmissionReview {
  const req = requestOf(body);
  if (!judged(req)) return review({ uid: req.uid, allowed: true });
  const object = req.object!;
  const stand = standInName(object);
  const v = validateObject(stand ? withName(object, stand) : object, req.namespace);
  if (!v.defaulted) return review({ uid: req.uid, allowed: true });
  let ops = defaultingPatch(object, v.defaulted);
  // Defaults derived from the stand-in name (a KafkaSource's consumer group, ContainerSource container
  // names) cannot be known yet: they are left out, like the name itself, for whoever loads the object
  // to default (applyDefaults, as `eddy validate` and `eddy dev` do).
  if (stand)
    ops = ops.filter((op) => op.path !== '/metadata/name' && !JSON.stringify(op.value).includes(stand));
  if (ops.length === 0) return review({ uid: req.uid, allowed: true });
  return review({
    uid: req.uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  });
}
