// The signed-in user's unread notices: one count the header's badge and the notices page share.
import { useEffect, useState } from 'preact/hooks';
import { myNotices } from './api';

type Listener = (unread: number) => void;
const listeners = new Set<Listener>();
let unread = 0;

export function setUnread(count: number): void {
  unread = Math.max(0, count);
  for (const listener of listeners) listener(unread);
}

/** Asks the server again (a new page, a report filed); failures keep the last count. */
export async function refreshUnread(): Promise<void> {
  try {
    const body = await myNotices<{ unread: number }>();
    setUnread(body.unread);
  } catch {
    /* offline or signed out: the badge stays as it was */
  }
}

export function useUnread(): number {
  const [count, setCount] = useState(unread);
  useEffect(() => {
    listeners.add(setCount);
    setCount(unread);
    return () => { listeners.delete(setCount); };
  }, []);
  return count;
}
