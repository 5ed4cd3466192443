// HTTP client for docs/api.md: same-origin cookies, CSRF header on every
// state-changing request, and errors turned into ApiError with the server's fields.

export interface FieldError {
  field: string | null;
  rule?: string | null;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly rule: string | null;
  readonly state: string | null;
  readonly errors: FieldError[];
  readonly retryAfterS: number | null;

  constructor(status: number, body: Record<string, unknown>, retryAfterS: number | null) {
    const message = typeof body.message === 'string' && body.message
      ? body.message
      : `Request failed (${status})`;
    super(message);
    this.status = status;
    this.code = typeof body.error === 'string' ? body.error : 'error';
    this.field = typeof body.field === 'string' ? body.field : null;
    this.rule = typeof body.rule === 'string' ? body.rule : null;
    this.state = typeof body.state === 'string' ? body.state : null;
    this.errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : [];
    this.retryAfterS = retryAfterS;
  }
}

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return null;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function api<T = unknown>(method: Method, path: string, body?: unknown): Promise<T> {
  if (body === undefined) return send<T>(method, path, undefined, undefined);
  return send<T>(method, path, JSON.stringify(body), 'application/json');
}

/** Sends a file as the request body itself, typed by its own media type (PUT /api/me/avatar). */
export function putFile<T = unknown>(path: string, file: Blob): Promise<T> {
  return send<T>('PUT', path, file, file.type || 'application/octet-stream');
}

async function send<T>(method: Method, path: string, body: BodyInit | undefined, contentType: string | undefined): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  if (method !== 'GET') {
    const csrf = readCookie('parley_csrf');
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body });
  } catch {
    throw new ApiError(0, { error: 'network', message: 'Could not reach the server. Check your connection.' }, null);
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const retry = response.headers.get('Retry-After');
    const retryAfterS = retry && /^\d+$/.test(retry) ? Number(retry) : null;
    const errorBody = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    throw new ApiError(response.status, errorBody, retryAfterS);
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

/** Human text for an error of any kind, for the alert region. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'rate_limited' && error.retryAfterS !== null) {
      return `${error.message} Try again in ${error.retryAfterS} s.`;
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

// --- Trust and safety: reports, notices, the admin desk ---------------------------------------

let reasonsCache: Promise<string[]> | null = null;

/** GET /api/reports/reasons, asked once per page load (the instance's list rarely changes). */
export function reportReasons(): Promise<string[]> {
  if (!reasonsCache) {
    reasonsCache = get<{ reasons: string[] }>('/api/reports/reasons').then((body) => body.reasons);
    reasonsCache.catch(() => { reasonsCache = null; });
  }
  return reasonsCache;
}

export const fileReport = <T>(body: unknown) => post<T>('/api/reports', body);
export const myNotices = <T>() => get<T>('/api/me/notices');
/** Marks these notices read (none given: all of them). */
export const markNoticesRead = (ids?: number[]) => post<void>('/api/me/notices/read', ids ? { ids } : {});

/** The signed-in user's instance role (GET /api/me says it; the desk's link shows for staff). */
export async function instanceRole(): Promise<'member' | 'moderator' | 'admin'> {
  const body = await get<{ role?: 'member' | 'moderator' | 'admin' | null }>('/api/me');
  return body.role ?? 'member';
}

export const decideReport = <T>(id: number, body: unknown) => post<T>(`/api/admin/reports/${id}/decision`, body);
