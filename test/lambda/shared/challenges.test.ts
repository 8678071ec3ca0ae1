import {
  accessDeniedChallenge,
  insufficientScopeChallenge,
  unauthorizedChallenge,
} from '../../../lambda/shared/challenges';
import { serverUrls } from '../../../lambda/shared/urls';

describe('challenges', () => {
  const urls = serverUrls('https://mcp.example.com');
  it('points a 401 at the path-form metadata and carries no error code', () => {
    expect(unauthorizedChallenge(urls)).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });
  it('lists required scopes on a 401, never offline_access', () => {
    expect(unauthorizedChallenge(urls, ['mcp:tools', 'offline_access'])).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"',
    );
  });
  it('answers a 403 with insufficient_scope, the scopes and the metadata URL', () => {
    expect(insufficientScopeChallenge(urls, ['openid', 'mcp:tools'])).toBe(
      'Bearer error="insufficient_scope", scope="openid mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });
  it('answers a 403 that no step-up fixes with the metadata URL only: no error code, no scope', () => {
    expect(accessDeniedChallenge(urls)).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });
});
