// The signed-in session: tokens held in memory only (never in any storage),
// silent refresh before the access token expires, rotation of the refresh
// token on every use, revocation at logout.
import type * as oauth from 'oauth4webapi';
import type { TokenSource } from '../api/client';
import { isGrantError, refreshTokens, revokeToken, type HttpOptions } from './oauth';

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

export function tokenSetFrom(r: oauth.TokenEndpointResponse, now: number, previous?: TokenSet): TokenSet {
  const lifetime = typeof r.expires_in === 'number' && r.expires_in > 0 ? r.expires_in : 300;
  const refreshToken = r.refresh_token ?? previous?.refreshToken;
  return {
    accessToken: r.access_token,
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: now + lifetime * 1000,
  };
}

/** Reads claims of a JWT access token, for display only (the MBX verifies it). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export interface SessionOptions extends HttpOptions {
  /** Refresh this long before expiry (ms). */
  leadMs?: number;
  now?: () => number;
  /** The session cannot go on: the person must log in again. */
  onExpired?: (reason: string) => void;
  refresh?: typeof refreshTokens;
  revoke?: typeof revokeToken;
}

export class Session implements TokenSource {
  private tokens: TokenSet | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<boolean> | undefined;
  private failures = 0;
  readonly email: string;
  readonly subject: string;

  constructor(
    private readonly as: oauth.AuthorizationServer,
    initial: oauth.TokenEndpointResponse,
    private readonly o: SessionOptions = {},
  ) {
    this.tokens = tokenSetFrom(initial, this.now());
    const claims = jwtClaims(initial.access_token);
    this.email = typeof claims.email === 'string' ? claims.email : '';
    this.subject = typeof claims.sub === 'string' ? claims.sub : this.email;
    this.schedule();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  /** For tests and the status line: when the access token expires. */
  get expiresAt(): number | undefined {
    return this.tokens?.expiresAt;
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const t = this.tokens;
    if (!t?.refreshToken) return;
    const lead = this.o.leadMs ?? 60_000;
    const delay =
      this.failures > 0
        ? Math.min(60_000, 2_000 * 2 ** (this.failures - 1))
        : Math.max(1_000, t.expiresAt - lead - this.now());
    this.timer = setTimeout(() => void this.renew(), delay);
  }

  async accessToken(): Promise<string> {
    const t = this.tokens;
    if (!t) throw new Error('signed out');
    if (t.expiresAt - this.now() < 10_000 && t.refreshToken) await this.renew();
    const now = this.tokens;
    if (!now) throw new Error('signed out');
    return now.accessToken;
  }

  /** Refreshes now (once at a time); true when a new access token came. */
  renew(): Promise<boolean> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async doRefresh(): Promise<boolean> {
    const t = this.tokens;
    if (!t?.refreshToken) {
      this.expire('The session has ended.');
      return false;
    }
    try {
      const r = await (this.o.refresh ?? refreshTokens)(this.as, t.refreshToken, this.o);
      // Rotation: the old refresh token is now dead, keep the new one.
      this.tokens = tokenSetFrom(r, this.now(), t);
      this.failures = 0;
      this.schedule();
      return true;
    } catch (e) {
      if (isGrantError(e)) {
        this.expire('The session has ended. Please sign in again.');
        return false;
      }
      // A network error: retry with back-off (the refresh token stays valid).
      this.failures++;
      this.schedule();
      return false;
    }
  }

  private expire(reason: string): void {
    this.clear();
    this.o.onExpired?.(reason);
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.tokens = undefined;
  }

  /** Revokes the refresh token (its whole family) and forgets all tokens. */
  async logout(): Promise<void> {
    const t = this.tokens;
    this.clear();
    if (t?.refreshToken) {
      try {
        await (this.o.revoke ?? revokeToken)(this.as, t.refreshToken, this.o);
      } catch {
        // Best effort: the tokens are gone from memory either way.
      }
    }
  }
}
