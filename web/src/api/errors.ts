// One error type for every failed call: the HTTP status and the JSON error
// body the servers send (`{"error", "error_description"}`, RFC 6749 §5.2 style).

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description?: string,
  ) {
    super(description ? `${code}: ${description}` : code);
  }

  /** The network failed (no HTTP answer at all). */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('aborted');
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof AbortError || (e instanceof DOMException && e.name === 'AbortError');
}

/** Builds an ApiError from a non-2xx response, reading its JSON body if any. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let description: string | undefined = res.statusText || undefined;
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
      if (typeof body.error === 'string') code = body.error;
      if (typeof body.error_description === 'string') description = body.error_description;
    }
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(res.status, code, description);
}

export function errorFromText(status: number, text: string, statusText = ''): ApiError {
  let code = `http_${status}`;
  let description: string | undefined = statusText || undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.error_description === 'string') description = body.error_description;
  } catch {
    // not JSON
  }
  return new ApiError(status, code, description);
}

/** A sentence for the person, from any error. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.isNetwork) return 'The mailbox cannot be reached. Check your connection.';
    return e.description ?? e.code;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
