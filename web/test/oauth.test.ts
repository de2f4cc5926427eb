import { afterEach, describe, expect, it, vi } from 'vitest';
import * as oauth from 'oauth4webapi';
import {
  CLIENT_ID,
  completeLogin,
  discover,
  protectedResourceMetadataUrl,
  redirectUri,
  SCOPE,
  startLogin,
  type KeyValueStorage,
} from '../src/auth/oauth';
import { jwtClaims, Session } from '../src/auth/session';

class MemStorage implements KeyValueStorage {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

const AS: oauth.AuthorizationServer = {
  issuer: 'https://as.example.com/',
  authorization_endpoint: 'https://as.example.com/authorize',
  token_endpoint: 'https://as.example.com/token',
  revocation_endpoint: 'https://as.example.com/revoke',
};

const MBX = new URL('https://mbx.example.com/');

function bytesToB64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64url(s: string): string {
  return bytesToB64url(new TextEncoder().encode(s));
}

function jwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'ES256', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims))}.sig`;
}

async function s256(verifier: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return bytesToB64url(new Uint8Array(d));
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('discovery', () => {
  it('finds the AS through the RFC 9728 metadata, then reads RFC 8414 metadata', async () => {
    const seen: string[] = [];
    const fetch = (url: string) => {
      seen.push(url);
      if (url === 'https://mbx.example.com/.well-known/oauth-protected-resource') {
        return Promise.resolve(jsonResponse({ resource: 'https://mbx.example.com/', authorization_servers: ['https://as.example.com/'] }));
      }
      if (url === 'https://as.example.com/.well-known/oauth-authorization-server') {
        return Promise.resolve(jsonResponse(AS));
      }
      return Promise.resolve(new Response('', { status: 404 }));
    };
    const as = await discover(MBX, { fetch });
    expect(as.token_endpoint).toBe(AS.token_endpoint);
    expect(seen).toHaveLength(2);
  });

  it('refuses AS metadata whose issuer is not the named one', async () => {
    const fetch = (url: string) =>
      Promise.resolve(
        url.includes('protected-resource')
          ? jsonResponse({ authorization_servers: ['https://as.example.com/'] })
          : jsonResponse({ ...AS, issuer: 'https://evil.example.com/' }),
      );
    await expect(discover(MBX, { fetch })).rejects.toThrow();
  });

  it('puts the path of a resource after the well-known prefix', () => {
    expect(protectedResourceMetadataUrl(new URL('https://example.com/rs1/'))).toBe(
      'https://example.com/.well-known/oauth-protected-resource/rs1',
    );
  });
});

describe('authorization request', () => {
  it('builds a PKCE S256 request with state for the public client', async () => {
    const store = new MemStorage();
    const url = await startLogin(AS, redirectUri(MBX), store);
    expect(url.origin + url.pathname).toBe('https://as.example.com/authorize');
    const p = url.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('redirect_uri')).toBe('https://mbx.example.com/oauth/callback');
    expect(p.get('scope')).toBe(SCOPE);
    expect(p.get('code_challenge_method')).toBe('S256');
    const pending = JSON.parse(store.getItem('fz.login') ?? '{}') as { verifier: string; state: string };
    expect(p.get('state')).toBe(pending.state);
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(p.get('code_challenge')).toBe(await s256(pending.verifier));
  });

  it('makes a fresh verifier and state each time', async () => {
    const a = await startLogin(AS, redirectUri(MBX), new MemStorage());
    const b = await startLogin(AS, redirectUri(MBX), new MemStorage());
    expect(a.searchParams.get('state')).not.toBe(b.searchParams.get('state'));
    expect(a.searchParams.get('code_challenge')).not.toBe(b.searchParams.get('code_challenge'));
  });
});

describe('callback', () => {
  it('exchanges the code with the verifier and forgets the pending values', async () => {
    const store = new MemStorage();
    const url = await startLogin(AS, redirectUri(MBX), store);
    const { verifier } = JSON.parse(store.getItem('fz.login') ?? '{}') as { verifier: string };
    let body: URLSearchParams | undefined;
    const fetch = (u: string, init?: RequestInit) => {
      expect(u).toBe(AS.token_endpoint);
      body = new URLSearchParams(init?.body as URLSearchParams);
      return Promise.resolve(
        jsonResponse({ access_token: jwt({ email: 'alice@example.com' }), token_type: 'Bearer', expires_in: 900, refresh_token: 'r1' }),
      );
    };
    const cb = new URL(`https://mbx.example.com/oauth/callback?code=c0de&state=${url.searchParams.get('state')}`);
    const tokens = await completeLogin(AS, cb, store, { fetch });
    expect(tokens.refresh_token).toBe('r1');
    expect(body?.get('grant_type')).toBe('authorization_code');
    expect(body?.get('code')).toBe('c0de');
    expect(body?.get('code_verifier')).toBe(verifier);
    expect(body?.get('client_id')).toBe('webmail');
    expect(body?.get('redirect_uri')).toBe('https://mbx.example.com/oauth/callback');
    expect(store.m.size).toBe(0);
  });

  it('refuses a wrong state and still forgets the pending values', async () => {
    const store = new MemStorage();
    await startLogin(AS, redirectUri(MBX), store);
    const fetch = vi.fn();
    const cb = new URL('https://mbx.example.com/oauth/callback?code=c0de&state=forged');
    await expect(completeLogin(AS, cb, store, { fetch })).rejects.toThrow();
    expect(fetch).not.toHaveBeenCalled();
    expect(store.m.size).toBe(0);
  });

  it('refuses a callback no login in this tab started', async () => {
    await expect(completeLogin(AS, new URL('https://mbx.example.com/oauth/callback?code=x&state=y'), new MemStorage())).rejects.toThrow(
      /no login/,
    );
  });

  it('reports an error the AS sent back', async () => {
    const store = new MemStorage();
    const url = await startLogin(AS, redirectUri(MBX), store);
    const cb = new URL(`https://mbx.example.com/oauth/callback?error=access_denied&state=${url.searchParams.get('state')}`);
    await expect(completeLogin(AS, cb, store)).rejects.toThrow();
  });
});

describe('session', () => {
  const initial = (exp = 900): oauth.TokenEndpointResponse => ({
    access_token: jwt({ email: 'alice@example.com', sub: 'alice' }),
    token_type: 'bearer',
    expires_in: exp,
    refresh_token: 'r1',
  });

  it('reads the email claim for display', () => {
    expect(jwtClaims(jwt({ email: 'a@b.c' })).email).toBe('a@b.c');
    expect(jwtClaims('garbage')).toEqual({});
  });

  it('refreshes silently before expiry and keeps the rotated refresh token', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const used: string[] = [];
    const refresh = vi.fn((_as: oauth.AuthorizationServer, rt: string) => {
      used.push(rt);
      const n = used.length + 1;
      return Promise.resolve({ access_token: `a${n}`, token_type: 'bearer' as const, expires_in: 900, refresh_token: `r${n}` });
    });
    const s = new Session(AS, initial(), { refresh });
    expect(s.email).toBe('alice@example.com');
    await vi.advanceTimersByTimeAsync(839_000);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000); // 60 s before expiry
    expect(used).toEqual(['r1']);
    expect(await s.accessToken()).toBe('a2');
    await vi.advanceTimersByTimeAsync(900_000);
    expect(used).toEqual(['r1', 'r2']);
    expect(await s.accessToken()).toBe('a3');
    await s.logout();
  });

  it('renews once for concurrent 401s', async () => {
    let n = 0;
    const refresh = vi.fn(() => {
      n++;
      return Promise.resolve({ access_token: `a${n}`, token_type: 'bearer' as const, expires_in: 900, refresh_token: `r${n + 1}` });
    });
    const s = new Session(AS, initial(), { refresh });
    const [a, b] = await Promise.all([s.renew(), s.renew()]);
    expect(a && b).toBe(true);
    expect(refresh).toHaveBeenCalledTimes(1);
    await s.logout();
  });

  it('ends the session when the refresh token is refused', async () => {
    const onExpired = vi.fn();
    const refresh = vi.fn(() =>
      Promise.reject(
        new oauth.ResponseBodyError('server responded with an error', {
          cause: { error: 'invalid_grant' },
          response: new Response('{}', { status: 400 }),
        }),
      ),
    );
    const s = new Session(AS, initial(), { refresh, onExpired });
    expect(await s.renew()).toBe(false);
    expect(onExpired).toHaveBeenCalled();
    expect(s.signedIn).toBe(false);
    await expect(s.accessToken()).rejects.toThrow();
  });

  it('revokes the refresh token at logout and forgets the tokens', async () => {
    const revoke = vi.fn(() => Promise.resolve());
    const s = new Session(AS, initial(), { revoke });
    await s.logout();
    expect(revoke).toHaveBeenCalledWith(AS, 'r1', expect.anything());
    expect(s.signedIn).toBe(false);
  });
});
