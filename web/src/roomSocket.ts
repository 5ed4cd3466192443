// One WebSocket per room (docs/websocket.md), with resume: on a gap in seq, or when
// the socket closes, reconnect with ?last_seq= after a backoff. Answers `ping`.
import type { ServerEvent } from './types';

/** Close codes after which reconnecting cannot help (for visitors: 4409 the space is not live
 * yet, 4410 it ended, 4503 it is full). 4429 (too many from one address) is retried with backoff. */
export const FATAL_CLOSE_CODES = new Set([4401, 4403, 4404, 4409, 4410, 4503]);
const GAP_CLOSE_CODE = 4000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export type SocketStatus = 'connecting' | 'open' | 'reconnecting';

export interface RoomSocketOptions {
  lastSeq: () => number | null;
  /** Handle one message; 'gap' makes the socket resume from lastSeq(). */
  onMessage: (event: ServerEvent) => 'ok' | 'gap';
  onStatus: (status: SocketStatus) => void;
  onFatal: (code: number) => void;
  /** Runs before reconnecting after a socket that never opened; false stops trying. */
  beforeRetry: () => Promise<boolean>;
  /** How the person came (home, notification, ...), told to the server for the host's analytics. */
  via?: string | null;
}

export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random() / 2));
}

export class RoomSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;

  constructor(private readonly spaceId: number, private readonly options: RoomSocketOptions) {}

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
  }

  private url(): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const seq = this.options.lastSeq();
    const params = new URLSearchParams();
    if (seq !== null) params.set('last_seq', String(seq));
    if (this.options.via) params.set('via', this.options.via);
    const text = params.toString();
    const query = text ? `?${text}` : '';
    return `${scheme}//${location.host}/api/spaces/${this.spaceId}/ws${query}`;
  }

  private connect(): void {
    if (this.stopped) return;
    this.options.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    let opened = false;
    let heardFrom = false;
    let gap = false;

    ws.onopen = () => {
      opened = true;
      this.options.onStatus('open');
    };
    ws.onmessage = (message: MessageEvent) => {
      if (this.ws !== ws || gap) return;
      let event: ServerEvent;
      try {
        event = JSON.parse(String(message.data)) as ServerEvent;
      } catch {
        return;
      }
      if (!heardFrom) {
        heardFrom = true;
        this.attempt = 0; // a working connection resets the backoff
      }
      if (event.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
        return;
      }
      if (this.options.onMessage(event) === 'gap') {
        gap = true;
        ws.close(GAP_CLOSE_CODE, 'resume');
      }
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (FATAL_CLOSE_CODES.has(event.code)) {
        this.options.onFatal(event.code);
        return;
      }
      // Resume at once after a gap; otherwise back off.
      const delay = gap && this.attempt === 0 ? 0 : backoffDelayMs(this.attempt);
      this.attempt += 1;
      this.options.onStatus('reconnecting');
      this.timer = window.setTimeout(() => void this.retry(opened), delay);
    };
  }

  private async retry(opened: boolean): Promise<void> {
    if (this.stopped) return;
    // A socket refused before opening may mean our membership lapsed (or the space
    // ended): let the page re-join, which also tells it why.
    if (!opened && !(await this.options.beforeRetry())) return;
    this.connect();
  }
}
