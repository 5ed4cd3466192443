// The WebRTC path of a space's audio: holds one session (WHEP or WHIP) at a time, sets it up
// again with the room socket's backoff when it fails or stays disconnected, and plays its
// remote stream through the app's WebRTC <audio> element. Which kind to hold, and whether to
// hold one at all, is the owner's call (audio.ts).
import { ApiError } from './api';
import { isRetryableStatus, type AudioStatus, type MediaKind } from './audioRules';
import { isCapacityRefusal } from './playback';
import { backoffDelayMs } from './roomSocket';
import { MediaSession } from './webrtcSession';

/** A `disconnected` connection often recovers by itself; after this long it is set up again. */
const DISCONNECTED_GRACE_MS = 3000;

export interface WebrtcPathOptions {
  spaceId: number;
  element: HTMLAudioElement;
  /** The microphone track to publish (asked at each WHIP offer). */
  micTrack: () => MediaStreamTrack | null;
  /** Runs before each WHEP offer (the owner asks where to listen; it may drop WebRTC then). */
  beforeListen: () => Promise<void>;
  /** Whether a lost session is worth setting up again (not while switching away from WebRTC). */
  wanted: () => boolean;
  /** The offer was refused for good (not retried); the owner decides what comes next. */
  onRefused: (kind: MediaKind, err: ApiError) => void;
  /** The kind, status or session changed. */
  onChange: () => void;
  /** play() was refused for want of a user gesture (true), or later allowed (false). */
  onBlocked: (blocked: boolean) => void;
}

export class WebrtcPath {
  /** The session kind held or being set up; null for none. */
  kind: MediaKind | null = null;
  status: AudioStatus = 'off';
  private session: MediaSession | null = null;
  private generation = 0;
  private attempt = 0;
  private retryTimer: number | undefined;
  private graceTimer: number | undefined;

  constructor(private readonly options: WebrtcPathOptions) {}

  /** A session is connected (the old one too, while its successor is being set up). */
  get audible(): boolean {
    return this.session !== null && this.session.pc.connectionState === 'connected';
  }

  /** Whether a session (of any state) is open. */
  get open(): boolean {
    return this.session !== null;
  }

  /** Hold a session of this kind (a new one when the kind changes), or none. */
  want(kind: MediaKind | null): void {
    if (kind === this.kind) return;
    this.attempt = 0;
    this.connect(kind, false);
  }

  private setStatus(status: AudioStatus): void {
    this.status = status;
    this.options.onChange();
  }

  private clearTimers(): void {
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.graceTimer);
    this.retryTimer = undefined;
    this.graceTimer = undefined;
  }

  private connect(kind: MediaKind | null, retry: boolean): void {
    this.clearTimers();
    const generation = ++this.generation;
    this.kind = kind;
    if (kind === null) {
      this.closeSession();
      this.setStatus('off');
      return;
    }
    this.setStatus(retry ? 'reconnecting' : 'connecting');
    const ready = kind === 'whep' ? this.options.beforeListen() : Promise.resolve();
    void ready.then(() => {
      if (generation !== this.generation) return;
      const mic = kind === 'whip' ? this.options.micTrack() : null;
      MediaSession.open(kind, this.options.spaceId, mic, (session, state) => this.onSessionState(session, state)).then(
        (session) => {
          if (generation !== this.generation) {
            session.close();
            return;
          }
          // The new session is up: only now drop the old one (WHEP while switching to WHIP),
          // so the room is not silent in between and I never hear myself.
          const old = this.session;
          this.session = session;
          old?.close();
          this.attach(session.stream);
          if (session.pc.connectionState === 'connected') this.onSessionState(session, 'connected');
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          // A WHEP 503 "capacity" is not worth retrying here: the owner moves to HLS.
          if (err instanceof ApiError
            && (!isRetryableStatus(err.status) || (kind === 'whep' && isCapacityRefusal(err.status, err.code)))) {
            if (kind === 'whep') {
              this.closeSession();
              this.setStatus('unavailable');
            }
            this.options.onRefused(kind, err);
            return;
          }
          this.scheduleRetry(kind, generation);
        },
      );
    });
  }

  private scheduleRetry(kind: MediaKind, generation: number): void {
    this.setStatus('reconnecting');
    const delay = backoffDelayMs(this.attempt);
    this.attempt += 1;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (generation === this.generation && this.kind === kind) this.connect(kind, true);
    }, delay);
  }

  private onSessionState(session: MediaSession, state: RTCPeerConnectionState): void {
    if (session !== this.session) return;
    if (state === 'connected') {
      window.clearTimeout(this.graceTimer);
      this.attempt = 0;
      this.setStatus('connected');
    } else if (state === 'failed' || state === 'closed') {
      this.reconnect(session);
    } else if (state === 'disconnected') {
      this.setStatus('reconnecting');
      window.clearTimeout(this.graceTimer);
      this.graceTimer = window.setTimeout(() => {
        if (session === this.session && session.pc.connectionState !== 'connected') this.reconnect(session);
      }, DISCONNECTED_GRACE_MS);
    }
  }

  /** The connection was lost: drop it and set up the same kind again, with backoff. */
  private reconnect(session: MediaSession): void {
    const kind = this.kind;
    if (session !== this.session || kind === null) return;
    if (!this.options.wanted()) {
      // The old path while switching to HLS: not worth setting up again.
      this.connect(null, false);
      return;
    }
    this.closeSession();
    const generation = ++this.generation;
    this.scheduleRetry(kind, generation);
  }

  private closeSession(): void {
    const session = this.session;
    this.session = null;
    if (session) {
      session.close();
      const element = this.options.element;
      if (element.srcObject === session.stream) element.srcObject = null;
    }
  }

  private attach(stream: MediaStream | null): void {
    const element = this.options.element;
    if (element.srcObject !== stream) element.srcObject = stream;
    if (!stream) return;
    element.play().then(
      () => this.options.onBlocked(false),
      (err: unknown) => {
        // NotAllowedError: autoplay needs a gesture. AbortError: replaced by a newer stream.
        if (err instanceof Error && err.name === 'NotAllowedError' && element.srcObject === stream) {
          this.options.onBlocked(true);
        }
      },
    );
  }
}
