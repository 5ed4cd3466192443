// The space this browser is connected to: its room socket, room state, speaking levels and
// audio. It lives outside the pages, so moving around the app keeps the room (and its audio)
// going; the room page attaches to it while open, the mini-player shows it everywhere else.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorMessage, post } from './api';
import { RoomAudio } from './audio';
import { micProblem } from './audioRules';
import { applyCaption, captionLogFrom, dropPartialsExcept, EMPTY_CAPTION_LOG, type CaptionLog } from './captions';
import { applyEvent, applyLevels, type RoomState } from './room';
import { RoomSocket, type SocketStatus } from './roomSocket';
import { onStage, type ReactionsEvent, type ServerEvent, type Space } from './types';

/** How long an unmute waits for the server to receive the microphone's audio. */
const MIC_LIVE_TIMEOUT_MS = 15_000;

export type LiveEnd =
  | { kind: 'over'; space: Space }
  | { kind: 'removed'; reason: 'removed' | 'blocked' }
  | { kind: 'fatal'; code: number };

/** What the open room page wants to hear; null while no room page shows this space. */
export interface LiveDelegate {
  onReactions: (event: ReactionsEvent) => void;
  onSnapshot: () => void;
  onEnd: (end: LiveEnd) => void;
  /** A re-join before reconnecting failed: true when the page took it as the end. */
  joinFailed: (err: unknown) => Promise<boolean>;
}

let announcer: (text: string) => void = () => undefined;

/** The app's polite live region, for what happens while no room page is open. */
export function setLiveAnnouncer(announce: (text: string) => void): void {
  announcer = announce;
}

export class LiveRoom {
  room: RoomState | null = null;
  socketStatus: SocketStatus | null = null;
  levels: ReadonlyMap<number, number> = new Map();
  /** Live captions: the last final lines and what each speaker is saying now. */
  captions: CaptionLog = EMPTY_CAPTION_LOG;
  running = true;
  delegate: LiveDelegate | null = null;
  readonly audio: RoomAudio;
  private socket: RoomSocket | null = null;
  private readonly listeners = new Set<() => void>();

  /**
   * `visitor`: no account; listens (HLS) and watches the stage, never joins or acts. `via`: how
   * the person came (`?via=` of the page), told to the server for the host's analytics.
   */
  constructor(readonly spaceId: number, readonly visitor = false, readonly via: string | null = null) {
    this.audio = new RoomAudio(spaceId, () => this.emit(), via);
  }

  get title(): string {
    return this.room?.space.title ?? '';
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Join, then open the room socket. Throws the join's error (and stops). */
  async start(): Promise<void> {
    try {
      if (!this.visitor) await post(`/api/spaces/${this.spaceId}/join`);
    } catch (err) {
      this.stop();
      throw err;
    }
    if (!this.running) return;
    const socket = new RoomSocket(this.spaceId, {
      via: this.via,
      lastSeq: () => this.room?.seq ?? null,
      onMessage: (event) => this.handle(event),
      onStatus: (status) => {
        this.socketStatus = status;
        this.emit();
      },
      onFatal: (code) => {
        const removed = this.room?.removed;
        this.stop();
        if (this.delegate) this.delegate.onEnd(code === 4403 && removed ? { kind: 'removed', reason: removed } : { kind: 'fatal', code });
        else announcer(`Disconnected from ${this.title || 'the space'}`);
      },
      beforeRetry: async () => {
        if (this.visitor) return true; // nothing to join: the socket is the visitor's presence
        try {
          await post(`/api/spaces/${this.spaceId}/join`);
          return true;
        } catch (err) {
          const ended = this.delegate
            ? await this.delegate.joinFailed(err)
            : err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
          if (ended) {
            if (!this.delegate) announcer(`Disconnected from ${this.title || 'the space'}`);
            this.stop();
          }
          return !ended;
        }
      },
    });
    this.socket = socket;
    socket.start();
  }

  /**
   * Unmute in one gesture: turn the microphone on if it is off (the browser may ask), wait until
   * the server receives its audio (the room shows `mic_live`), then unmute. Returns why it could
   * not, in words for the user, or null once unmuted. The server refuses an unmute while none of
   * my audio reaches it, so nobody is ever shown unmuted whom nobody hears.
   */
  async unmute(): Promise<string | null> {
    if (!this.running || !this.room) return 'You are not in the room.';
    await this.audio.enableMic();
    // Someone else's gesture may already be asking the browser: wait for its answer.
    await this.until(() => this.audio.state.mic !== 'asking', MIC_LIVE_TIMEOUT_MS);
    const mic = this.audio.state.mic;
    if (mic !== 'on') return micProblem(mic) ?? 'The microphone could not be started, so you stay muted.';
    const heard = await this.until(() => !!this.room?.me.mic_live, MIC_LIVE_TIMEOUT_MS);
    if (!heard) return 'Your microphone is on, but its audio is not reaching the room. Check your connection and try again.';
    try {
      await post(`/api/spaces/${this.spaceId}/me/unmute`);
      return null;
    } catch (err) {
      return errorMessage(err);
    }
  }

  async mute(): Promise<string | null> {
    try {
      await post(`/api/spaces/${this.spaceId}/me/mute`);
      return null;
    } catch (err) {
      return errorMessage(err);
    }
  }

  /** Resolves true once the room state satisfies `test`, false after `timeoutMs` or a stop. */
  private until(test: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (value: boolean) => {
        if (done) return;
        done = true;
        window.clearTimeout(timer);
        unsubscribe();
        resolve(value);
      };
      const check = () => {
        if (!this.running) finish(false);
        else if (test()) finish(true);
      };
      const unsubscribe = this.subscribe(check);
      const timer = window.setTimeout(() => finish(false), timeoutMs);
      check();
    });
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.socket?.stop();
    this.socket = null;
    this.socketStatus = null;
    this.levels = new Map();
    this.audio.stop();
    if (active === this) setActive(null);
    this.emit();
  }

  private handle(event: ServerEvent): 'ok' | 'gap' {
    if (event.type === 'reactions') {
      this.delegate?.onReactions(event);
      return 'ok';
    }
    if (event.type === 'levels') {
      const levels = applyLevels(this.levels, event);
      if (levels !== this.levels) {
        this.levels = levels;
        this.emit();
      }
      return 'ok';
    }
    if (event.type === 'caption') {
      const captions = applyCaption(this.captions, event.line);
      if (captions !== this.captions) {
        this.captions = captions;
        this.emit();
      }
      return 'ok';
    }
    const result = applyEvent(this.room, event);
    if (result.kind === 'gap') return 'gap';
    if (result.kind === 'ignored') return 'ok';
    const before = this.room;
    const next = result.state;
    this.room = next;
    if (event.type === 'snapshot') {
      this.levels = new Map();
      this.captions = captionLogFrom(event.captions);
    } else if (event.type === 'member_updated' || event.type === 'member_removed') {
      // Someone who left the stage finishes no utterance: their words in progress go.
      const stage = new Set([...next.members.values()].filter((m) => onStage(m)).map((m) => m.user.id));
      this.captions = dropPartialsExcept(this.captions, stage);
    }
    // On the room page every change is said; elsewhere only what concerns me or the space.
    const aboutMe = event.type === 'space_updated'
      || (event.type === 'member_updated' && event.member.user.id === next.me.user.id)
      || (event.type === 'member_removed' && event.user_id === next.me.user.id);
    if (this.delegate || aboutMe) {
      const where = this.delegate || !before ? '' : ` (${next.space.title})`;
      for (const text of result.announcements) announcer(text + where);
    }
    if (next.removed) {
      this.stop();
      this.delegate?.onEnd({ kind: 'removed', reason: next.removed });
    } else if (next.space.state === 'ended' || next.space.state === 'canceled') {
      this.stop();
      this.delegate?.onEnd({ kind: 'over', space: next.space });
    } else {
      if (event.type === 'snapshot') this.delegate?.onSnapshot();
      this.syncAudio();
    }
    this.emit();
    return 'ok';
  }

  private syncAudio(): void {
    const room = this.room;
    if (!room) return;
    this.audio.update({
      live: this.running && room.space.state === 'live',
      onStage: onStage(room.me),
      muted: room.me.muted,
    });
  }
}

// --- the active room -----------------------------------------------------------------------
let active: LiveRoom | null = null;
const activeListeners = new Set<() => void>();

function setActive(room: LiveRoom | null): void {
  active = room;
  for (const listener of [...activeListeners]) listener();
}

export function activeRoom(): LiveRoom | null {
  return active;
}

/** The connection for this space: the running one, or a new one (leaving any other space). */
export function openRoom(spaceId: number, visitor = false, via: string | null = null): { room: LiveRoom; fresh: boolean } {
  if (active && active.running && active.spaceId === spaceId && active.visitor === visitor) {
    return { room: active, fresh: false };
  }
  active?.stop();
  const room = new LiveRoom(spaceId, visitor, via);
  setActive(room);
  return { room, fresh: true };
}

/** Leave whatever space is connected: socket and audio sessions end. */
export function leaveActiveRoom(): void {
  active?.stop();
}

/** Re-render whenever the room changes. */
export function useLiveRoom(room: LiveRoom | null): void {
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!room) return undefined;
    return room.subscribe(() => setVersion((v) => v + 1));
  }, [room]);
}

/** The active room, re-rendering when it changes or is replaced. */
export function useActiveRoom(): LiveRoom | null {
  const [room, setRoom] = useState<LiveRoom | null>(active);
  useEffect(() => {
    const listener = () => setRoom(active);
    activeListeners.add(listener);
    listener();
    return () => {
      activeListeners.delete(listener);
    };
  }, []);
  useLiveRoom(room);
  return room;
}
