// The public feed (/api/feed, docs/websocket.md): spaces created or changing state, as it
// happens. One socket for the whole app, open while some page listens; whenever it opens (first
// or after a drop, with backoff) the pages reload, since what happened before it was up is lost.
import { useEffect, useRef } from 'preact/hooks';
import { backoffDelayMs } from './roomSocket';
import type { Space } from './types';

export interface FeedListener {
  onSpace: (space: Space) => void;
  /** The feed came back after a drop: reload what the page lists. */
  onResync?: () => void;
}

const listeners = new Set<FeedListener>();
let socket: WebSocket | null = null;
let attempt = 0;
let timer: number | undefined;

/** The message, if it is a space change (anything else, pings included, is ignored). */
export function parseFeedMessage(data: unknown): Space | null {
  if (typeof data !== 'string') return null;
  try {
    const message = JSON.parse(data) as { type?: unknown; space?: unknown };
    if (message.type !== 'space_changed' || typeof message.space !== 'object' || message.space === null) return null;
    const space = message.space as Space;
    return typeof space.id === 'number' && typeof space.state === 'string' ? space : null;
  } catch {
    return null;
  }
}

function connect(): void {
  if (listeners.size === 0 || socket) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/api/feed`);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    // Whatever changed while the socket was connecting (a page opened just before a space
    // started: a race a browser test caught) was never sent: every page reloads what it lists.
    for (const listener of [...listeners]) listener.onResync?.();
  };
  ws.onmessage = (event) => {
    const space = parseFeedMessage(event.data);
    if (space) for (const listener of [...listeners]) listener.onSpace(space);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (listeners.size === 0) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(connect, backoffDelayMs(attempt++));
  };
}

export function subscribeFeed(listener: FeedListener): () => void {
  listeners.add(listener);
  connect();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      window.clearTimeout(timer);
      const ws = socket;
      socket = null;
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'no page listens');
    }
  };
}

/** Listen to the feed while the component is mounted (the latest callbacks are used). */
export function useSpaceFeed(onSpace: (space: Space) => void, onResync?: () => void, enabled = true): void {
  const latest = useRef({ onSpace, onResync });
  latest.current = { onSpace, onResync };
  useEffect(() => {
    if (!enabled) return undefined;
    return subscribeFeed({
      onSpace: (space) => latest.current.onSpace(space),
      onResync: () => latest.current.onResync?.(),
    });
  }, [enabled]);
}
