import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorMessage, get } from './api';

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Parley` : 'Parley';
  }, [title]);
}

export function prefersReducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

/** What a page showing one thing from the API has: it, or why not (yet). */
export type Loaded<T> =
  | { kind: 'loading' }
  | { kind: 'signin' }
  | { kind: 'missing' }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; value: T };

/** GETs `path`, again when `who` (the signed-in user) changes or `retry` is called. */
export function useLoaded<T>(path: string, who: unknown): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    get<T>(path).then(
      (value) => { if (current) setState({ kind: 'ready', value }); },
      (err: unknown) => {
        if (!current) return;
        if (err instanceof ApiError && err.status === 401) setState({ kind: 'signin' });
        else if (err instanceof ApiError && err.status === 404) setState({ kind: 'missing' });
        else setState({ kind: 'error', message: errorMessage(err) });
      },
    );
    return () => { current = false; };
  }, [path, who, attempt]);
  return [state, () => setAttempt((n) => n + 1)];
}
