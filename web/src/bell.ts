// The bell: the signed-in user's notifications, one list per tab shared by the header's badge
// and the notifications page, kept live by the user's own socket (/api/me/socket,
// docs/websocket.md). One socket per tab; it reconnects with the room socket's jittered backoff
// and stops for good on 4401/4403 (signed out, refused). Direct messages arriving on it go to
// whoever listens (the messages pages).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, get } from './api';
import {
  EMPTY_BELL, bellHello, bellLoaded, bellRead, bellReceived, type BellState,
} from './notifyRules';
import { backoffDelayMs } from './roomSocket';
import type { AppNotification, MessageView, UserSocketEvent } from './types';

export interface BellView extends BellState {
  /** The socket is open: what happens now arrives without a reload. */
  connected: boolean;
}

type Listener = (view: BellView) => void;
const listeners = new Set<Listener>();
const messageListeners = new Set<(message: MessageView) => void>();
const arrivalListeners = new Set<(notification: AppNotification) => void>();
let view: BellView = { ...EMPTY_BELL, connected: false };

function set(next: BellState, connected: boolean = view.connected): void {
  view = { ...next, connected };
  for (const listener of listeners) listener(view);
}

/** Close codes after which reconnecting cannot help: signed out, refused. */
const FATAL = new Set([4401, 4403]);

class UserSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'leaving');
    set(view, false);
  }

  private connect(): void {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/me/socket`);
    this.ws = ws;
    ws.onmessage = (message: MessageEvent) => {
      if (this.ws !== ws) return;
      let event: UserSocketEvent;
      try {
        event = JSON.parse(String(message.data)) as UserSocketEvent;
      } catch {
        return;
      }
      if (event.type === 'hello') {
        this.attempt = 0; // a working connection resets the backoff
        set(bellHello(view, event.unread), true);
        // What came while the socket was away is in the list, not in the socket.
        if (view.loaded) loadBell().catch(() => undefined);
      } else if (event.type === 'notification') {
        const known = view.items.some((n) => n.id === event.notification.id);
        set(bellReceived(view, event.notification));
        if (!known) for (const listener of arrivalListeners) listener(event.notification);
      } else if (event.type === 'message') {
        for (const listener of messageListeners) listener(event.message);
      }
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      set(view, false);
      if (this.stopped || FATAL.has(event.code)) return;
      const delay = backoffDelayMs(this.attempt);
      this.attempt += 1;
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }
}

let socket: UserSocket | null = null;
let owner: number | null = null;

/** The bell for this user (null: signed out): one socket per tab, replaced when the user changes. */
export function startBell(userId: number | null): void {
  if (owner === userId && (socket || userId === null)) return;
  socket?.stop();
  socket = null;
  owner = userId;
  set(EMPTY_BELL, false);
  if (userId === null || typeof WebSocket === 'undefined') return;
  socket = new UserSocket();
  socket.start();
}

let loading: Promise<void> | null = null;

/** GET /api/notifications: the newest, and the count. */
export function loadBell(): Promise<void> {
  if (!loading) {
    loading = get<{ notifications: AppNotification[]; unread: number }>('/api/notifications')
      .then((body) => set(bellLoaded(view, body.notifications, body.unread)))
      .finally(() => { loading = null; });
  }
  return loading;
}

/** POST /api/notifications/read: these (null: all) are read now. */
export async function markBellRead(ids: number[] | null): Promise<void> {
  if (ids !== null && ids.length === 0) return;
  await api('POST', '/api/notifications/read', { ids });
  set(bellRead(view, ids));
}

export function useBell(): BellView {
  const [current, setCurrent] = useState(view);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(view);
    return () => { listeners.delete(setCurrent); };
  }, []);
  return current;
}

/** Each new notification as it arrives (the app announces it). */
export function onNotification(listener: (notification: AppNotification) => void): () => void {
  arrivalListeners.add(listener);
  return () => { arrivalListeners.delete(listener); };
}

/** Each direct message sent or received, as it happens. */
export function useMessageEvents(listener: (message: MessageView) => void): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const each = (message: MessageView) => ref.current(message);
    messageListeners.add(each);
    return () => { messageListeners.delete(each); };
  }, []);
}
