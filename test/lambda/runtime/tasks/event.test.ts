/**
 * The task event's protection: the MAC verifies only the body it was made for, with the key it was
 * made with, within the age limit; the identity it carries never includes the access token.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import {
  authInfoOf,
  identityOf,
  isTaskEvent,
  MAX_EVENT_AGE_MS,
  signTaskEvent,
  type TaskEvent,
  type TaskEventBody,
  verifyTaskEvent,
} from '../../../../lambda/runtime/tasks/event';

const KEY = 'k'.repeat(32);
const NOW = Date.UTC(2026, 6, 28, 12);
const authInfo: AuthInfo = {
  token: 'secret-access-token',
  clientId: 'client_1',
  scopes: ['openid', 'mcp:tools'],
  resource: new URL('https://api.example.com/mcp'),
  extra: { sub: 'user_alice', orgId: 'org_1' },
};
const body: TaskEventBody = {
  taskId: 'AAAAAAAAAAAAAAAAAAAAAA',
  round: 1,
  identity: identityOf(authInfo),
  call: { name: 'long_task', arguments: { seconds: 2 } },
  issuedAt: NOW,
};
const signed = (): TaskEvent => JSON.parse(signTaskEvent(KEY, body)) as TaskEvent;

describe('the task event', () => {
  it('verifies as signed, and only a top-level mcpTask counts as a task event', () => {
    const event = signed();
    expect(isTaskEvent(event)).toBe(true);
    expect(isTaskEvent({ httpMethod: 'POST', body: JSON.stringify(event) })).toBe(false);
    expect(verifyTaskEvent(KEY, event, NOW + 1000)).toEqual({ body });
  });

  it('refuses a changed body, another key and a missing MAC', () => {
    const event = signed();
    const otherCaller = { ...event, mcpTask: { ...event.mcpTask, identity: { ...body.identity, clientId: 'x' } } };
    expect(verifyTaskEvent(KEY, otherCaller, NOW)).toMatchObject({ refused: expect.stringContaining('MAC') });
    expect(verifyTaskEvent('o'.repeat(32), event, NOW)).toMatchObject({ refused: expect.stringContaining('MAC') });
    expect(verifyTaskEvent(KEY, { mcpTask: event.mcpTask } as TaskEvent, NOW)).toMatchObject({
      refused: expect.any(String),
    });
  });

  it('refuses an event older than the age limit', () => {
    expect(verifyTaskEvent(KEY, signed(), NOW + MAX_EVENT_AGE_MS)).toEqual({ body });
    expect(verifyTaskEvent(KEY, signed(), NOW + MAX_EVENT_AGE_MS + 1)).toMatchObject({
      refused: expect.stringContaining('issued'),
    });
  });

  it('carries the vouched identity without the access token, and gives it back as AuthInfo', () => {
    expect(JSON.stringify(signTaskEvent(KEY, body))).not.toContain('secret-access-token');
    expect(authInfoOf(body.identity)).toEqual({ ...authInfo, token: '' });
  });
});
