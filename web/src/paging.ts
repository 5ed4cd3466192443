// A list the server pages (`?offset=&limit=`, answered with `next_offset`): the first page on
// load, more on request, again when the path or the viewer changes.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api';
import { pagePath } from './searchRules';
import type { Paged } from './types';

export interface PagedList<T> {
  items: T[];
  /** Where the next page starts; null when there is none. */
  next: number | null;
  /** The first page has arrived (successfully or not). */
  loaded: boolean;
  loading: boolean;
  /** What went wrong with the last page asked for (the error the API client threw). */
  error: unknown;
  /** The path these items came from (null before the first answer). */
  source: string | null;
}

const EMPTY = { items: [], next: null, loaded: false, loading: false, error: null, source: null };

/** GETs pages of `path` (none while it is null); `pick` takes the items out of an answer. */
export function usePagedList<T, B extends Paged>(
  path: string | null,
  pick: (body: B) => T[],
  who: unknown,
  limit = 20,
): [PagedList<T>, { more: () => void; retry: () => void }] {
  const [list, setList] = useState<PagedList<T>>(EMPTY);
  const [attempt, setAttempt] = useState(0);
  const current = useRef(0);
  const pickRef = useRef(pick);
  pickRef.current = pick;

  const load = useCallback((from: string, offset: number, generation: number) => {
    setList((old) => ({ ...old, loading: true, error: null }));
    get<B>(pagePath(from, offset, limit)).then(
      (body) => {
        if (current.current !== generation) return;
        const items = pickRef.current(body);
        setList((old) => ({
          items: offset === 0 ? items : [...old.items, ...items],
          next: body.next_offset,
          loaded: true,
          loading: false,
          error: null,
          source: from,
        }));
      },
      (error: unknown) => {
        if (current.current !== generation) return;
        setList((old) => ({ ...old, loaded: true, loading: false, error, source: from }));
      },
    );
  }, [limit]);

  useEffect(() => {
    const generation = ++current.current;
    setList(EMPTY);
    if (path !== null) load(path, 0, generation);
  }, [path, who, attempt, load]);

  const more = useCallback(() => {
    if (path !== null && list.next !== null && !list.loading) load(path, list.next, current.current);
  }, [path, list.next, list.loading, load]);

  return [list, { more, retry: () => setAttempt((n) => n + 1) }];
}
