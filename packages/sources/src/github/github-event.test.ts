import { describe, expect, it } from 'vitest';
import { githubCloudEvent, githubEventSource, subjectAndExtensions } from './github-event.js';

describe('GitHub event mapping', () => {
  it('builds the source from ownerAndRepository, for a repository or an organization', () => {
    expect(githubEventSource('octo-org/octo-repo')).toBe('https://github.com/octo-org/octo-repo');
    expect(githubEventSource('octo-org/')).toBe('https://github.com/octo-org');
  });

  it('leaves out the subject and the extensions whose payload fields are missing', () => {
    expect(subjectAndExtensions('issues', { action: 'opened', issue: {} })).toEqual({
      extensions: { action: 'opened' },
    });
    // null/empty values count as absent (Knative's struct zero values are not copied).
    expect(
      subjectAndExtensions('pull_request', { pull_request: { number: 5 }, label: null, action: '' }),
    ).toEqual({ subject: '5', extensions: {} });
  });

  it('uses the organization as owner for unmapped org-level events and a generic subject', () => {
    expect(
      subjectAndExtensions('custom_property', {
        action: 'created',
        custom_property: { id: 42 },
        organization: { login: 'octo-org' },
        sender: { login: 'octocat' },
      }),
    ).toEqual({ subject: '42', extensions: { action: 'created', owner: 'octo-org', sender: 'octocat' } });
  });

  it('keeps booleans and numbers as strings and the payload bytes as data', () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const event = githubCloudEvent({
      event: 'push',
      deliveryId: 'd-1',
      ownerAndRepository: 'o/r',
      payload: {
        compare: 'https://github.com/o/r/compare/abc...def',
        forced: false,
        installation: { id: 7 },
      },
      body,
    });
    expect(event).toMatchObject({
      id: 'd-1',
      type: 'dev.knative.source.github.push',
      source: 'https://github.com/o/r',
      subject: 'abc...def',
      forced: 'false',
      installation: '7',
      datacontenttype: 'application/json',
    });
    expect(event.data).toBe(body);
  });
});
