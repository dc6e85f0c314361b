// How a GitHub webhook delivery becomes a CloudEvent. Type, source and id follow Knative's
// eventing-github adapter; so do subject and extensions for the events that adapter knows. GitHub
// events it does not know (Knative answers them 404) get subjects chosen here, documented in the
// README's GitHubSource section, and the common extensions only.

import type { EventInit } from '../sdk/adapter.js';

export const GITHUB_EVENT_TYPE_PREFIX = 'dev.knative.source.github';
export const GITHUB_EVENT_SOURCE_PREFIX = 'https://github.com';

/** `dev.knative.source.github.<event>`, the `X-GitHub-Event` header's value appended. */
export function githubEventType(event: string): string {
  return `${GITHUB_EVENT_TYPE_PREFIX}.${event}`;
}

/** `https://github.com/<owner>/<repository>` (or `https://github.com/<org>` for an org hook). */
export function githubEventSource(ownerAndRepository: string): string {
  return `${GITHUB_EVENT_SOURCE_PREFIX}/${ownerAndRepository.replace(/^\/+|\/+$/g, '')}`;
}

type Payload = Record<string, unknown>;

/** The value at a dotted path of a JSON payload, or undefined when any step is missing. */
function at(payload: unknown, path: string): unknown {
  let value: unknown = payload;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Payload)[step];
  }
  return value;
}

/** A scalar as an attribute string; objects, arrays, null and '' count as absent. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return undefined;
}

/** What follows the last `/` of a URL (Knative keeps e.g. `2#issuecomment-393304133`). */
function afterLastSlash(value: unknown): string | undefined {
  const url = text(value);
  if (url === undefined) return undefined;
  const i = url.lastIndexOf('/');
  return i === -1 ? undefined : text(url.slice(i + 1));
}

type Subject = (payload: Payload) => string | undefined;
const path =
  (p: string): Subject =>
  (payload) =>
    text(at(payload, p));

/** Extension name -> path in the payload. */
type Extensions = Readonly<Record<string, string>>;

const REPO: Extensions = { owner: 'repository.owner.login', repository: 'repository.name' };
const SENDER: Extensions = { sender: 'sender.login' };
const ACTION: Extensions = { action: 'action' };
const ORG: Extensions = { owner: 'organization.login' };
const INSTALLATION: Extensions = { installation: 'installation.id' };

interface Mapping {
  subject: Subject;
  extensions: Extensions;
}

const repoSenderAction: Extensions = { ...REPO, ...SENDER, ...ACTION };
const repoSender: Extensions = { ...REPO, ...SENDER };
const installationMapping: Mapping = {
  subject: path('installation.id'),
  extensions: { ...INSTALLATION, ...SENDER, ...ACTION },
};

/** The events Knative's adapter maps (its subject and extensions per event). */
const KNATIVE: Readonly<Record<string, Mapping>> = {
  check_run: { subject: path('check_run.id'), extensions: repoSenderAction },
  check_suite: { subject: path('check_suite.id'), extensions: repoSenderAction },
  commit_comment: { subject: (p) => afterLastSlash(at(p, 'comment.html_url')), extensions: repoSenderAction },
  create: { subject: path('ref_type'), extensions: { ...repoSender, ref: 'ref' } },
  delete: { subject: path('ref_type'), extensions: { ...repoSender, ref: 'ref' } },
  deployment: { subject: path('deployment.id'), extensions: repoSender },
  deployment_status: { subject: path('deployment.id'), extensions: repoSender },
  fork: { subject: path('forkee.id'), extensions: repoSender },
  gollum: {
    subject: (p) => {
      const pages = at(p, 'pages');
      if (!Array.isArray(pages)) return undefined;
      return text(pages.map((page) => text(at(page, 'page_name')) ?? '').join(','));
    },
    extensions: repoSender,
  },
  installation: installationMapping,
  integration_installation: installationMapping,
  installation_repositories: installationMapping,
  integration_installation_repositories: installationMapping,
  issue_comment: { subject: (p) => afterLastSlash(at(p, 'comment.html_url')), extensions: repoSenderAction },
  issues: {
    subject: path('issue.number'),
    extensions: { ...repoSenderAction, label: 'label.name', assignee: 'assignee.login' },
  },
  label: { subject: path('label.name'), extensions: { ...repoSenderAction, label: 'label.name' } },
  member: { subject: path('member.id'), extensions: repoSenderAction },
  membership: { subject: path('member.id'), extensions: { ...ORG, scope: 'scope', ...SENDER, ...ACTION } },
  milestone: { subject: path('milestone.number'), extensions: repoSenderAction },
  organization: { subject: path('action'), extensions: { ...ORG, ...SENDER, ...ACTION } },
  org_block: { subject: path('action'), extensions: { ...ORG, ...SENDER, ...ACTION } },
  page_build: { subject: path('id'), extensions: repoSender },
  ping: { subject: path('hook_id'), extensions: repoSender },
  project_card: { subject: path('action'), extensions: repoSenderAction },
  project_column: { subject: path('action'), extensions: repoSenderAction },
  project: { subject: path('action'), extensions: repoSenderAction },
  public: { subject: path('repository.id'), extensions: repoSender },
  pull_request: {
    subject: path('pull_request.number'),
    extensions: {
      ...REPO,
      ...INSTALLATION,
      ...SENDER,
      ...ACTION,
      number: 'number',
      label: 'label.name',
      assignee: 'assignee.login',
    },
  },
  pull_request_review_comment: {
    subject: path('comment.id'),
    extensions: { ...REPO, ...INSTALLATION, ...SENDER, ...ACTION },
  },
  pull_request_review: {
    subject: path('review.id'),
    extensions: { ...REPO, ...INSTALLATION, ...SENDER, ...ACTION, review: 'review.state' },
  },
  push: {
    subject: (p) => afterLastSlash(at(p, 'compare')),
    extensions: {
      ...REPO,
      ...INSTALLATION,
      ...SENDER,
      pusher: 'pusher.name',
      ref: 'ref',
      created: 'created',
      deleted: 'deleted',
      forced: 'forced',
    },
  },
  release: {
    subject: path('release.tag_name'),
    extensions: { ...REPO, ...INSTALLATION, ...SENDER, ...ACTION, release: 'release.name' },
  },
  repository: { subject: path('repository.id'), extensions: repoSenderAction },
  repository_vulnerability_alert: { subject: path('alert.id'), extensions: ACTION },
  security_advisory: { subject: path('security_advisory.ghsa_id'), extensions: ACTION },
  status: {
    subject: path('sha'),
    extensions: { ...repoSender, state: 'state', name: 'name', context: 'context' },
  },
  team: { subject: path('team.id'), extensions: { ...SENDER, ...ACTION } },
  team_add: { subject: path('repository.id'), extensions: repoSender },
  watch: { subject: path('repository.id'), extensions: repoSenderAction },
};

/** Subjects for events Knative's adapter does not know (Eddy's choice: the event's own object). */
const EDDY_SUBJECTS: Readonly<Record<string, Subject>> = {
  branch_protection_rule: path('rule.id'),
  code_scanning_alert: path('alert.number'),
  dependabot_alert: path('alert.number'),
  secret_scanning_alert: path('alert.number'),
  deploy_key: path('key.id'),
  deployment_review: path('workflow_run.id'),
  discussion: path('discussion.number'),
  discussion_comment: path('comment.id'),
  merge_group: path('merge_group.head_sha'),
  meta: path('hook_id'),
  package: path('package.id'),
  projects_v2_item: path('projects_v2_item.id'),
  pull_request_review_thread: path('pull_request.number'),
  repository_dispatch: path('action'),
  repository_import: path('repository.id'),
  sponsorship: path('sponsorship.node_id'),
  star: path('repository.id'),
  workflow_dispatch: path('workflow'),
  workflow_job: path('workflow_job.id'),
  workflow_run: path('workflow_run.id'),
};

/** Extensions of events Knative does not map: the common ones, where the payload has them. */
const COMMON_EXTENSIONS: Extensions = { ...REPO, ...INSTALLATION, ...SENDER, ...ACTION };

/** Any other event: `<event>.number`, else `<event>.id` of the object named like the event. */
const fallbackSubject =
  (event: string): Subject =>
  (payload) =>
    text(at(payload, `${event}.number`)) ?? text(at(payload, `${event}.id`));

/** Subject and extensions of one delivery; absent payload fields leave the attribute out. */
export function subjectAndExtensions(
  event: string,
  payload: Payload,
): { subject?: string; extensions: Record<string, string> } {
  const known = KNATIVE[event];
  const subject = (known?.subject ?? EDDY_SUBJECTS[event] ?? fallbackSubject(event))(payload);
  const extensions: Record<string, string> = {};
  for (const [name, p] of Object.entries(known?.extensions ?? COMMON_EXTENSIONS)) {
    const value = text(at(payload, p));
    if (value !== undefined) extensions[name] = value;
  }
  // On org-level events of unmapped kinds the organization stands in for the repository owner.
  if (!known && extensions.owner === undefined) {
    const org = text(at(payload, 'organization.login'));
    if (org !== undefined) extensions.owner = org;
  }
  return subject === undefined ? { extensions } : { subject, extensions };
}

/** The events whose mapping comes from Knative's adapter (the rest are Eddy's). */
export const KNATIVE_MAPPED_EVENTS: readonly string[] = Object.keys(KNATIVE);

/** The CloudEvent of one verified delivery. `body` is the JSON payload's bytes, sent unchanged. */
export function githubCloudEvent(options: {
  event: string;
  deliveryId: string;
  ownerAndRepository: string;
  payload: Payload;
  body: Buffer;
}): EventInit {
  const { subject, extensions } = subjectAndExtensions(options.event, options.payload);
  return {
    ...extensions,
    specversion: '1.0',
    id: options.deliveryId,
    type: githubEventType(options.event),
    source: githubEventSource(options.ownerAndRepository),
    ...(subject === undefined ? {} : { subject }),
    datacontenttype: 'application/json',
    data: options.body,
  };
}
