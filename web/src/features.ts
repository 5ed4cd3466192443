// What this server offers of the newer APIs: a control whose endpoint answers 404 is hidden
// rather than shown broken (a server older than the client, or a feature being rolled out).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api';

const known = new Map<string, Promise<boolean>>();

/** GET `path` answers (anything but 404, 405 or 501): the feature is there. Asked once per page load. */
export function hasEndpoint(path: string): Promise<boolean> {
  let found = known.get(path);
  if (!found) {
    found = get(path).then(
      () => true,
      (err: unknown) => {
        if (routeMissing(err)) return false;
        // Offline or refused: say yes, and ask again next time.
        known.delete(path);
        return true;
      },
    );
    known.set(path, found);
  }
  return found;
}

/** null until known. */
export function useHasEndpoint(path: string | null): boolean | null {
  const [has, setHas] = useState<boolean | null>(null);
  useEffect(() => {
    if (path === null) return undefined;
    let current = true;
    hasEndpoint(path).then((yes) => { if (current) setHas(yes); });
    return () => { current = false; };
  }, [path]);
  return has;
}

/** A write refused with 404 because the route itself is missing (not the space or person). */
export function routeMissing(err: unknown): boolean {
  // FastAPI's own 404 for a path no route matches says "Not Found"; a missing thing names itself.
  return err instanceof ApiError && (err.status === 405 || err.status === 501
    || (err.status === 404 && err.message === 'Not Found'));
}
