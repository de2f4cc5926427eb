// Every HTTP call the webmail makes to its mailbox (MBX) lives here
// (SPEC §11, §12). Each call carries the access token as a Bearer token; a
// 401 triggers one token renewal and one retry.
import type { MessageObject, PlaceholderDocument } from '../model/placeholder';
import { ApiError, errorFromResponse, errorFromText } from './errors';
import type {
  DeliveryStatus,
  ForwardingRule,
  MessagePatch,
  ResourceInfo,
  SyncResponse,
} from './types';
import { xhrSend, type UploadProgress, type XhrFactory } from './upload';

export interface TokenSource {
  /** A valid access token (refreshed first when it is about to expire). */
  accessToken(): Promise<string>;
  /** After a 401: get a new access token; false when that is impossible. */
  renew(): Promise<boolean>;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiOptions {
  /** The mailbox base URL, e.g. `https://mbx.example.com/` (the page's origin). */
  baseUrl: string;
  tokens: TokenSource;
  fetch?: FetchLike;
  xhr?: XhrFactory;
}

interface RequestOptions {
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
}

export const MAX_WAIT = 30;

const enc = encodeURIComponent;

export class MailboxApi {
  private readonly base: URL;
  private readonly doFetch: FetchLike;

  constructor(private readonly opts: ApiOptions) {
    this.base = new URL(opts.baseUrl);
    this.doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /** One authorised request; resolves with a 2xx Response or throws ApiError. */
  async raw(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const attempt = async (): Promise<Response> => {
      const headers: Record<string, string> = {
        Accept: 'application/json',
        ...o.headers,
        Authorization: `Bearer ${await this.opts.tokens.accessToken()}`,
      };
      if (o.contentType) headers['Content-Type'] = o.contentType;
      try {
        return await this.doFetch(this.url(path, o.query), {
          method,
          headers,
          cache: 'no-store',
          credentials: 'omit',
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (e) {
        if (e instanceof DOMException && e.name === 'AbortError') throw e;
        throw new ApiError(0, 'network_error', e instanceof Error ? e.message : String(e));
      }
    };
    let res = await attempt();
    if (res.status === 401 && (await this.opts.tokens.renew())) res = await attempt();
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  private async json<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, o);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private jsonBody(value: unknown): Pick<RequestOptions, 'body' | 'contentType'> {
    return { body: JSON.stringify(value), contentType: 'application/json' };
  }

  // ------------------------------------------------------------ resources

  /**
   * Uploads bytes as a resource. Reports progress; `signal` cancels it.
   * Uses XMLHttpRequest, the only browser API with upload progress.
   */
  async uploadResource(
    body: Blob,
    type: string,
    o: { onProgress?: (p: UploadProgress) => void; signal?: AbortSignal } = {},
  ): Promise<ResourceInfo> {
    const attempt = async () =>
      xhrSend({
        method: 'POST',
        url: this.url('api/v1/resources'),
        headers: {
          Accept: 'application/json',
          'Content-Type': type || 'application/octet-stream',
          Authorization: `Bearer ${await this.opts.tokens.accessToken()}`,
        },
        body,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(this.opts.xhr ? { xhr: this.opts.xhr } : {}),
      }).catch((e: unknown) => {
        if (e instanceof TypeError) throw new ApiError(0, 'network_error', e.message);
        throw e;
      });
    let r = await attempt();
    if (r.status === 401 && (await this.opts.tokens.renew())) r = await attempt();
    if (r.status < 200 || r.status >= 300) throw errorFromText(r.status, r.text, r.statusText);
    return JSON.parse(r.text) as ResourceInfo;
  }

  /** Uploads a small text (a body part) with fetch. */
  uploadText(text: string, type: string): Promise<ResourceInfo> {
    return this.json('POST', 'api/v1/resources', {
      body: new Blob([text], { type }),
      contentType: type,
    });
  }

  async getResource(digest: string, signal?: AbortSignal): Promise<Blob> {
    const res = await this.raw('GET', `api/v1/resources/${enc(digest)}`, {
      headers: { Accept: '*/*' },
      ...(signal ? { signal } : {}),
    });
    return res.blob();
  }

  async getResourceText(digest: string): Promise<string> {
    const blob = await this.getResource(digest);
    return blob.text();
  }

  // ------------------------------------------------------------- messages

  createMessage(doc: PlaceholderDocument): Promise<MessageObject> {
    return this.json('POST', 'api/v1/messages', this.jsonBody(doc));
  }

  getMessage(id: string): Promise<MessageObject> {
    return this.json('GET', `api/v1/messages/${enc(id)}`);
  }

  /** Replaces a draft (409 once it was sent). */
  replaceDraft(id: string, doc: PlaceholderDocument): Promise<MessageObject> {
    return this.json('PUT', `api/v1/messages/${enc(id)}`, this.jsonBody(doc));
  }

  /** Moves or flags; the answer may be the message or empty. */
  patchMessage(id: string, patch: MessagePatch): Promise<MessageObject | undefined> {
    return this.json('PATCH', `api/v1/messages/${enc(id)}`, this.jsonBody(patch));
  }

  /** To the trash, or for good when it is already there. */
  async deleteMessage(id: string): Promise<void> {
    await this.raw('DELETE', `api/v1/messages/${enc(id)}`);
  }

  /**
   * Sends a draft. The MBX accepts it (200 or 202) with the sent message, or
   * with another body or none: the caller must not rely on the answer's
   * shape (see MailActions.send).
   */
  send(id: string): Promise<unknown> {
    return this.json('POST', `api/v1/messages/${enc(id)}/send`);
  }

  status(id: string, signal?: AbortSignal): Promise<DeliveryStatus> {
    return this.json('GET', `api/v1/messages/${enc(id)}/status`, signal ? { signal } : {});
  }

  recall(id: string): Promise<DeliveryStatus> {
    return this.json('POST', `api/v1/messages/${enc(id)}/recall`);
  }

  // ----------------------------------------------------------------- sync

  /** One sync call; `since` undefined asks for everything. */
  sync(since: string | undefined, wait: number, signal?: AbortSignal): Promise<SyncResponse> {
    return this.json('GET', 'api/v1/sync', {
      query: { since, wait: since !== undefined && wait > 0 ? Math.min(wait, MAX_WAIT) : undefined },
      ...(signal ? { signal } : {}),
    });
  }

  // ------------------------------------------------------------- settings

  getForwarding(): Promise<ForwardingRule> {
    return this.json('GET', 'api/v1/settings/forwarding');
  }

  putForwarding(rule: ForwardingRule): Promise<ForwardingRule | undefined> {
    return this.json('PUT', 'api/v1/settings/forwarding', this.jsonBody(rule));
  }
}
