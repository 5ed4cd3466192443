// Search and paged lists: the rules the server applies to a query (docs/api.md, "Discovery"),
// checked here first for an instant answer (the server stays the judge), and error texts in
// plain words. No DOM, no fetch: unit-tested in test/discovery.test.ts.

export const QUERY_MAX = 100;
// Control characters (C0, DEL, C1) and line/paragraph separators: refused by the server.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why this query cannot be searched, in words for its field, or null when it can. */
export function queryProblem(q: string): string | null {
  if (CONTROL.test(q)) return 'Search text cannot contain tabs, line breaks or other control characters.';
  const trimmed = q.trim();
  if (!trimmed.replace(/^@/, '').trim()) return 'Type a name, a handle or words to search for.';
  if (Array.from(trimmed).length > QUERY_MAX) return `Search text can be at most ${QUERY_MAX} characters.`;
  return null;
}

/** The search page's address for a query. */
export function searchHref(q: string): string {
  const trimmed = q.trim();
  return trimmed ? `/search?q=${encodeURIComponent(trimmed)}` : '/search';
}

/** `path` asking for the page at `offset` of `limit` items. */
export function pagePath(path: string, offset: number, limit: number): string {
  const sep = path.includes('?') ? '&' : '?';
  return `${path}${sep}offset=${offset}&limit=${limit}`;
}

/** What an API error carries that matters here (ApiError has all of it). */
export interface ErrorFacts {
  status: number;
  code: string;
  field: string | null;
  rule: string | null;
  retryAfterS: number | null;
  message: string;
}

/** An error of a search in plain words. */
export function searchErrorText(error: ErrorFacts): string {
  if (error.code === 'rate_limited') {
    const wait = error.retryAfterS ?? 1;
    return `You searched a lot in a short time. Try again in ${wait} ${wait === 1 ? 'second' : 'seconds'}.`;
  }
  if (error.status === 422 && error.field === 'q') {
    if (error.rule === 'control_characters') return 'Search text cannot contain tabs, line breaks or other control characters.';
    if (error.rule === 'max_length') return `Search text can be at most ${QUERY_MAX} characters.`;
    if (error.rule === 'min_length' || error.rule === 'required') return 'Type a name, a handle or words to search for.';
  }
  if (error.status === 0) return 'Could not reach the server. Check your connection and search again.';
  if (error.status >= 500) return 'Search is not working right now. Try again in a moment.';
  return error.message;
}

/** What a screen reader hears once results arrive. */
export function resultsSummary(q: string, people: number, spaces: number, more: { people: boolean; spaces: boolean }): string {
  const count = (n: number, one: string, many: string, hasMore: boolean) =>
    n === 0 ? `no ${many}` : `${n}${hasMore ? ' or more' : ''} ${n === 1 ? one : many}`;
  return `Found ${count(people, 'person', 'people', more.people)} and ${count(spaces, 'space', 'spaces', more.spaces)} for “${q}”.`;
}
