// Live audio of one space over WebRTC (docs/api.md): WHEP to listen to the full mix, WHIP to
// publish from the stage (sendrecv: the answer sends back my mix-minus on the same
// connection). No trickle ICE: the offer goes out once ICE gathering is complete.
//
// Remote audio plays through one <audio> element for the whole app (an AudioContext alone
// hears silence in Chromium), so it keeps playing across client-side navigation.
import { ApiError, readCookie } from './api';
import {
  isRetryableStatus,
  mediaKindFor,
  micStateForError,
  type AudioStatus,
  type AudioWants,
  type MediaKind,
  type MicState,
} from './audioRules';
import { backoffDelayMs } from './roomSocket';

const ICE_GATHERING_TIMEOUT_MS = 3000;
/** A `disconnected` connection often recovers by itself; after this long it is set up again. */
const DISCONNECTED_GRACE_MS = 3000;
const MIC_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: false,
};

// --- the one <audio> element -----------------------------------------------------------------
let audioElement: HTMLAudioElement | null = null;

export function roomAudioElement(): HTMLAudioElement {
  if (!audioElement) {
    audioElement = document.createElement('audio');
    audioElement.autoplay = true;
    audioElement.hidden = true;
    audioElement.setAttribute('data-testid', 'room-audio');
    document.body.appendChild(audioElement);
  }
  return audioElement;
}

// --- sessions --------------------------------------------------------------------------------
/** Session URLs still open, so leaving the page can close them on the server. */
const openLocations = new Set<string>();
let pagehideInstalled = false;

function csrfHeaders(): Record<string, string> {
  const csrf = readCookie('parley_csrf');
  return csrf ? { 'X-CSRF-Token': csrf } : {};
}

function deleteSession(location: string, keepalive = false): void {
  openLocations.delete(location);
  void fetch(location, {
    method: 'DELETE', credentials: 'same-origin', headers: csrfHeaders(), keepalive,
  }).catch(() => undefined);
}

function installPagehide(): void {
  if (pagehideInstalled) return;
  pagehideInstalled = true;
  window.addEventListener('pagehide', () => {
    for (const location of [...openLocations]) deleteSession(location, true);
  });
}

async function postOffer(path: string, sdp: string): Promise<{ answer: string; location: string }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp, application/json', ...csrfHeaders() },
      body: sdp,
    });
  } catch {
    throw new ApiError(0, { error: 'network', message: 'Could not reach the server for audio.' }, null);
  }
  const text = await response.text();
  if (!response.ok) {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, body, null);
  }
  const location = response.headers.get('Location');
  if (!location) throw new ApiError(502, { error: 'bad_answer', message: 'The audio answer had no session URL.' }, null);
  return { answer: text, location: new URL(location, window.location.href).pathname };
}

function iceGatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      window.clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    // With no ICE servers gathering ends fast; if it lingers, go with what is there.
    const timer = window.setTimeout(done, ICE_GATHERING_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

class MediaSession {
  private location: string | null = null;
  private closed = false;
  stream: MediaStream | null = null;

  private constructor(readonly kind: MediaKind, readonly pc: RTCPeerConnection) {}

  static async open(
    kind: MediaKind,
    spaceId: number,
    mic: MediaStreamTrack | null,
    onState: (session: MediaSession, state: RTCPeerConnectionState) => void,
  ): Promise<MediaSession> {
    installPagehide();
    const pc = new RTCPeerConnection({ iceServers: [] });
    const session = new MediaSession(kind, pc);
    pc.ontrack = (event) => {
      if (event.track.kind === 'audio') session.stream = event.streams[0] ?? new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = () => {
      if (!session.closed) onState(session, pc.connectionState);
    };
    try {
      if (kind === 'whip') {
        if (!mic) throw new Error('no microphone to publish');
        pc.addTransceiver(mic, { direction: 'sendrecv' });
      } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc);
      const offer = pc.localDescription?.sdp;
      if (!offer) throw new Error('no local offer');
      const { answer, location } = await postOffer(`/api/spaces/${spaceId}/${kind}`, offer);
      session.location = location;
      openLocations.add(location);
      if (session.closed) throw new Error('closed');
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      if (!session.stream) {
        const track = pc.getReceivers().map((r) => r.track).find((t) => t.kind === 'audio');
        if (track) session.stream = new MediaStream([track]);
      }
      return session;
    } catch (err) {
      session.close();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    if (this.location) deleteSession(this.location);
  }
}

// --- one space's audio ----------------------------------------------------------------------
export interface AudioState {
  /** The session held now (or being set up). */
  kind: MediaKind | null;
  status: AudioStatus;
  mic: MicState;
  /** The browser refused to start playback without a user gesture. */
  blocked: boolean;
}

export class RoomAudio {
  state: AudioState = { kind: null, status: 'off', mic: 'off', blocked: false };
  private wants: AudioWants = { live: false, onStage: false, muted: true };
  private session: MediaSession | null = null;
  private target: MediaKind | null = null;
  private generation = 0;
  private attempt = 0;
  private retryTimer: number | undefined;
  private graceTimer: number | undefined;
  private mic: MediaStream | null = null;
  /** The user turned the microphone on once: take it again on the next return to the stage. */
  private micWanted = false;
  private publishRefused = false;
  private stopped = false;

  constructor(private readonly spaceId: number, private readonly onChange: () => void) {}

  /** Follow the room: call after every change of the space's state or of my seat. */
  update(wants: AudioWants): void {
    if (this.stopped) return;
    const wasOnStage = this.wants.onStage && this.wants.live;
    this.wants = wants;
    const nowOnStage = wants.onStage && wants.live;
    if (!nowOnStage) {
      this.releaseMic();
      this.publishRefused = false;
    } else if (!wasOnStage && this.micWanted && this.state.mic === 'off') {
      void this.enableMic();
    }
    this.applyMute();
    this.reconcile();
  }

  /** Ask for the microphone (after the page explained why). */
  async enableMic(): Promise<void> {
    if (this.stopped || this.state.mic === 'asking' || this.mic) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.set({ mic: 'unavailable' });
      return;
    }
    this.set({ mic: 'asking' });
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    } catch (err) {
      this.set({ mic: micStateForError(err instanceof Error ? err.name : '') });
      return;
    }
    const track = stream.getAudioTracks()[0];
    if (this.stopped || !this.wants.onStage || !this.wants.live || !track) {
      for (const t of stream.getTracks()) t.stop();
      this.set({ mic: track ? 'off' : 'unavailable' });
      return;
    }
    this.mic = stream;
    this.micWanted = true;
    this.publishRefused = false;
    track.addEventListener('ended', () => {
      // The device went away (unplugged, revoked): back to listening.
      if (this.mic !== stream) return;
      this.mic = null;
      this.set({ mic: 'unavailable' });
      this.reconcile();
    });
    this.set({ mic: 'on' });
    this.applyMute();
    this.reconcile();
  }

  /** Start playback after the browser blocked autoplay (call from a click). */
  async resume(): Promise<void> {
    const element = roomAudioElement();
    try {
      await element.play();
      this.set({ blocked: false });
    } catch {
      this.set({ blocked: true });
    }
  }

  /** Mirror the server's mute on the microphone track, so a muted mic sends nothing. */
  applyMute(): void {
    const track = this.mic?.getAudioTracks()[0];
    if (track) track.enabled = !this.wants.muted;
  }

  stop(): void {
    if (this.stopped) return;
    this.connect(null, false);
    this.stopped = true;
    this.releaseMic();
    this.micWanted = false;
  }

  private releaseMic(): void {
    if (this.mic) {
      for (const track of this.mic.getTracks()) track.stop();
      this.mic = null;
    }
    if (this.state.mic === 'on' || this.state.mic === 'asking') this.set({ mic: 'off' });
  }

  private set(patch: Partial<AudioState>): void {
    this.state = { ...this.state, ...patch };
    this.onChange();
  }

  private reconcile(): void {
    if (this.stopped) return;
    const kind = mediaKindFor(this.wants, this.mic !== null, this.publishRefused);
    if (kind === this.target) return;
    this.attempt = 0;
    this.connect(kind, false);
  }

  private clearTimers(): void {
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.graceTimer);
    this.retryTimer = undefined;
    this.graceTimer = undefined;
  }

  private connect(kind: MediaKind | null, retry: boolean): void {
    if (this.stopped) return;
    this.clearTimers();
    const generation = ++this.generation;
    this.target = kind;
    if (kind === null) {
      this.closeSession();
      this.set({ kind: null, status: 'off', blocked: false });
      return;
    }
    this.set({ kind, status: retry ? 'reconnecting' : 'connecting' });
    const mic = kind === 'whip' ? this.mic?.getAudioTracks()[0] ?? null : null;
    MediaSession.open(kind, this.spaceId, mic, (session, state) => this.onSessionState(session, state)).then(
      (session) => {
        if (generation !== this.generation || this.stopped) {
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
        if (generation !== this.generation || this.stopped) return;
        const status = err instanceof ApiError ? err.status : 0;
        if (err instanceof ApiError && !isRetryableStatus(status)) {
          if (kind === 'whip') {
            // Not (or no longer) allowed on stage: listen instead until my seat changes.
            this.publishRefused = true;
            this.reconcile();
          } else {
            this.closeSession();
            this.set({ status: 'unavailable' });
          }
          return;
        }
        this.scheduleRetry(kind, generation);
      },
    );
  }

  private scheduleRetry(kind: MediaKind, generation: number): void {
    this.set({ status: 'reconnecting' });
    const delay = backoffDelayMs(this.attempt);
    this.attempt += 1;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (generation === this.generation && this.target === kind) this.connect(kind, true);
    }, delay);
  }

  private onSessionState(session: MediaSession, state: RTCPeerConnectionState): void {
    if (session !== this.session || this.stopped) return;
    if (state === 'connected') {
      window.clearTimeout(this.graceTimer);
      this.attempt = 0;
      this.set({ status: 'connected' });
    } else if (state === 'failed' || state === 'closed') {
      this.reconnect(session);
    } else if (state === 'disconnected') {
      this.set({ status: 'reconnecting' });
      window.clearTimeout(this.graceTimer);
      this.graceTimer = window.setTimeout(() => {
        if (session === this.session && session.pc.connectionState !== 'connected') this.reconnect(session);
      }, DISCONNECTED_GRACE_MS);
    }
  }

  /** The connection was lost: drop it and set up the same kind again, with backoff. */
  private reconnect(session: MediaSession): void {
    const kind = this.target;
    if (session !== this.session || kind === null) return;
    this.closeSession();
    const generation = ++this.generation;
    this.scheduleRetry(kind, generation);
  }

  private closeSession(): void {
    const session = this.session;
    this.session = null;
    if (session) {
      session.close();
      const element = roomAudioElement();
      if (element.srcObject === session.stream) element.srcObject = null;
    }
  }

  private attach(stream: MediaStream | null): void {
    const element = roomAudioElement();
    if (element.srcObject !== stream) element.srcObject = stream;
    if (!stream) return;
    element.play().then(
      () => {
        if (this.state.blocked) this.set({ blocked: false });
      },
      (err: unknown) => {
        // NotAllowedError: autoplay needs a gesture. AbortError: replaced by a newer stream.
        if (err instanceof Error && err.name === 'NotAllowedError' && element.srcObject === stream) {
          this.set({ blocked: true });
        }
      },
    );
  }
}
