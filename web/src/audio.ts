// Live audio of one space (docs/api.md), over one of two paths:
// - WebRTC (webrtcPath.ts): WHEP to listen to the full mix; on stage, once the microphone is
//   on, WHIP to publish (its answer carries my mix-minus). Under a second behind.
// - HLS (hlsPlayer.ts): a few seconds behind, for listeners who choose "Standard", or when this
//   node's low-latency listeners are full (the listen answer's webrtc=false, or WHEP 503
//   {"error": "capacity"}).
// playback.playbackModeFor picks the path. A switch is seamless: the new path starts at volume
// 0 while the old one plays, and the old one stops only once the new one is heard to play
// (WebRTC connected; HLS time advancing).
//
// Each path plays through one <audio> element for the whole app (an AudioContext alone hears
// silence in Chromium), so the room keeps playing across client-side navigation.
import { get } from './api';
import {
  mediaKindFor,
  micStateForError,
  type AudioStatus,
  type AudioWants,
  type MediaKind,
  type MicState,
} from './audioRules';
import { HlsPlayer, type HlsSource } from './hlsPlayer';
import {
  isCapacityRefusal,
  localExpiresAt,
  parsePreferredMode,
  playbackFallback,
  playbackModeFor,
  type PlaybackMode,
} from './playback';
import type { ListenInfo } from './types';
import { WebrtcPath } from './webrtcPath';
/** On HLS for want of low-latency room: ask this often whether there is room again. */
const LISTEN_RECHECK_MS = 60_000;
/** A cached listen answer's HLS URL is used only if it has this long left. */
const LISTEN_URL_MIN_LIFE_MS = 15_000;
const PREFERENCE_KEY = 'parley.playback';
const MIC_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: false,
};

// --- the app's <audio> elements --------------------------------------------------------------
let audioElement: HTMLAudioElement | null = null;
let hlsElement: HTMLAudioElement | null = null;

function hiddenAudio(testId: string): HTMLAudioElement {
  const element = document.createElement('audio');
  element.autoplay = true;
  element.hidden = true;
  element.setAttribute('data-testid', testId);
  document.body.appendChild(element);
  return element;
}

/** WebRTC audio: its `srcObject` is the remote stream. */
export function roomAudioElement(): HTMLAudioElement {
  audioElement ??= hiddenAudio('room-audio');
  return audioElement;
}

/** Live HLS audio (hls.js attaches to it, or its `src` is the playlist in Safari). */
export function hlsAudioElement(): HTMLAudioElement {
  hlsElement ??= hiddenAudio('hls-audio');
  return hlsElement;
}

function storedPreference(): PlaybackMode {
  try {
    return parsePreferredMode(localStorage.getItem(PREFERENCE_KEY));
  } catch {
    return 'webrtc';
  }
}

// --- one space's audio ----------------------------------------------------------------------
export interface AudioState {
  /** The WebRTC session held now (or being set up). */
  kind: MediaKind | null;
  /** The state of the chosen path (`mode`). */
  status: AudioStatus;
  mic: MicState;
  /** The browser refused to start playback without a user gesture. */
  blocked: boolean;
  /** The path heard now; null while nothing plays. */
  playback: PlaybackMode | null;
  /** The path chosen: what playback is or is switching to; null when not live. */
  mode: PlaybackMode | null;
  /** The listener's choice: low latency (WebRTC) or standard (HLS). */
  preferred: PlaybackMode;
  /** Why HLS plays although low latency was chosen. */
  fallback: 'capacity' | null;
}

export class RoomAudio {
  state: AudioState;
  private wants: AudioWants = { live: false, onStage: false, muted: true };
  private mode: PlaybackMode | null = null;
  private playback: PlaybackMode | null = null;
  private readonly rtc: WebrtcPath;
  // HLS
  private hls: HlsPlayer | null = null;
  /** The HLS player was heard to play (time advanced). */
  private hlsPlaying = false;
  private listen: ListenInfo | null = null;
  private listenLoading: Promise<void> | null = null;
  private whepRefused = false;
  private recheckTimer: number | undefined;
  // microphone
  private mic: MediaStream | null = null;
  /** The user turned the microphone on once: take it again on the next return to the stage. */
  private micWanted = false;
  private publishRefused = false;
  private stopped = false;

  /** `via`: how the person came, passed on with `listen` for the host's analytics. */
  constructor(private readonly spaceId: number, private readonly onChange: () => void, private readonly via: string | null = null) {
    this.state = {
      kind: null, status: 'off', mic: 'off', blocked: false,
      playback: null, mode: null, preferred: storedPreference(), fallback: null,
    };
    this.rtc = new WebrtcPath({
      spaceId,
      element: roomAudioElement(),
      micTrack: () => this.mic?.getAudioTracks()[0] ?? null,
      // A listener asks where to listen first: low latency may be full on this node.
      beforeListen: () => (this.listen ? Promise.resolve() : this.loadListen()),
      wanted: () => !this.stopped && this.mode === 'webrtc',
      onRefused: (kind, err) => {
        if (this.stopped) return;
        if (kind === 'whep' && isCapacityRefusal(err.status, err.code)) {
          // No low-latency room on this node: listen over HLS.
          this.whepRefused = true;
          this.reconcile();
        } else if (kind === 'whip') {
          // Not (or no longer) allowed on stage: listen instead until my seat changes.
          this.publishRefused = true;
          this.reconcile();
        }
      },
      onChange: () => {
        if (this.stopped) return;
        this.settle();
        this.sync();
      },
      onBlocked: (blocked) => {
        if (!this.stopped && blocked !== this.state.blocked) this.sync({ blocked });
      },
    });
  }

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

  /** The playback control: low latency (WebRTC) or standard (HLS). Remembered in this browser. */
  setPreferred(preferred: PlaybackMode): void {
    if (this.stopped || preferred === this.state.preferred) return;
    try {
      localStorage.setItem(PREFERENCE_KEY, preferred);
    } catch {
      /* private mode: the choice lasts for this page */
    }
    this.state = { ...this.state, preferred };
    if (preferred === 'webrtc') {
      // Asked for low latency again: look afresh whether there is room for it.
      this.whepRefused = false;
      this.listen = null;
    }
    this.reconcile();
  }

  /** Ask for the microphone (after the page explained why). */
  async enableMic(): Promise<void> {
    if (this.stopped || this.state.mic === 'asking' || this.mic) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.sync({ mic: 'unavailable' });
      return;
    }
    this.sync({ mic: 'asking' });
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    } catch (err) {
      this.sync({ mic: micStateForError(err instanceof Error ? err.name : '') });
      return;
    }
    const track = stream.getAudioTracks()[0];
    if (this.stopped || !this.wants.onStage || !this.wants.live || !track) {
      for (const t of stream.getTracks()) t.stop();
      this.sync({ mic: track ? 'off' : 'unavailable' });
      return;
    }
    this.mic = stream;
    this.micWanted = true;
    this.publishRefused = false;
    track.addEventListener('ended', () => {
      // The device went away (unplugged, revoked): back to listening.
      if (this.mic !== stream) return;
      this.mic = null;
      this.sync({ mic: 'unavailable' });
      this.reconcile();
    });
    this.sync({ mic: 'on' });
    this.applyMute();
    this.reconcile();
  }

  /** Start playback after the browser blocked autoplay (call from a click). */
  async resume(): Promise<void> {
    const elements: HTMLAudioElement[] = [];
    const room = roomAudioElement();
    if (room.srcObject) elements.push(room);
    if (this.hls) elements.push(hlsAudioElement());
    let refused = false;
    for (const element of elements) {
      try {
        await element.play();
      } catch {
        refused = true;
      }
    }
    this.sync({ blocked: refused });
  }

  /** Mirror the server's mute on the microphone track, so a muted mic sends nothing. */
  applyMute(): void {
    const track = this.mic?.getAudioTracks()[0];
    if (track) track.enabled = !this.wants.muted;
  }

  stop(): void {
    if (this.stopped) return;
    this.mode = null;
    this.rtc.want(null);
    this.stopHls();
    window.clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    this.stopped = true;
    this.releaseMic();
    this.micWanted = false;
    this.settle();
    this.sync({ blocked: false });
  }

  private releaseMic(): void {
    if (this.mic) {
      for (const track of this.mic.getTracks()) track.stop();
      this.mic = null;
    }
    if (this.state.mic === 'on' || this.state.mic === 'asking') this.sync({ mic: 'off' });
  }

  /** Publish the state: the chosen path's status, the path heard, and `patch`. */
  private sync(patch: Partial<AudioState> = {}): void {
    const mode = this.mode;
    const status: AudioStatus = mode === 'hls' ? (this.hls?.status ?? 'connecting') : mode === 'webrtc' ? this.rtc.status : 'off';
    const preferred = patch.preferred ?? this.state.preferred;
    this.state = {
      ...this.state,
      ...patch,
      kind: this.rtc.kind,
      status,
      playback: this.playback,
      mode,
      fallback: playbackFallback(mode, preferred),
    };
    this.onChange();
  }

  private reconcile(): void {
    if (this.stopped) return;
    const kind = mediaKindFor(this.wants, this.mic !== null, this.publishRefused);
    const mode = playbackModeFor({
      kind,
      preferred: this.state.preferred,
      webrtcOffered: this.listen?.webrtc ?? true,
      whepRefused: this.whepRefused,
    });
    this.mode = mode;
    if (mode === null) {
      this.stopHls();
      this.rtc.want(null);
    } else if (mode === 'webrtc') {
      // HLS, if it plays, goes on until the WebRTC session is up (settle).
      this.rtc.want(kind);
    } else {
      this.startHls();
      // A session still being set up is not wanted any more; one that plays goes on until
      // HLS plays (settle).
      if (!this.rtc.audible) this.rtc.want(null);
    }
    this.scheduleRecheck();
    this.settle();
    this.sync(mode === null ? { blocked: false } : {});
  }

  /**
   * Stop the old path once the chosen one plays, and set which path is heard. The path not
   * heard is at volume 0, so the two never play over each other while switching.
   */
  private settle(): void {
    const rtcAudible = this.rtc.audible;
    const hlsAudible = this.hls !== null && this.hlsPlaying;
    if (this.mode === 'webrtc' && rtcAudible) {
      this.stopHls();
      this.playback = 'webrtc';
    } else if (this.mode === 'hls' && hlsAudible) {
      this.rtc.want(null);
      this.playback = 'hls';
    } else if (this.mode === null) {
      this.playback = null;
    } else {
      this.playback = rtcAudible ? 'webrtc' : hlsAudible ? 'hls' : null;
    }
    if (audioElement) audioElement.volume = this.playback === 'hls' ? 0 : 1;
    if (hlsElement) hlsElement.volume = this.playback === 'webrtc' ? 0 : 1;
  }

  // --- HLS ------------------------------------------------------------------------------------
  /** GET listen before a WHEP offer. Without an answer (an older server, a blip) WebRTC is tried. */
  private loadListen(): Promise<void> {
    this.listenLoading ??= this.fetchListen()
      .then(
        (info) => {
          this.listen = info;
        },
        () => undefined,
      )
      .then(() => {
        this.listenLoading = null;
        this.reconcile();
      });
    return this.listenLoading;
  }

  /**
   * GET listen, its link's expiry put on this browser's clock. A live link is this listener's
   * and lives a minute or two: the player renews it ahead through here, and a listener removed
   * or blocked is refused, so their link dies with its expiry (issue 12).
   */
  private async fetchListen(): Promise<ListenInfo> {
    const info = await get<ListenInfo>(`/api/spaces/${this.spaceId}/listen${this.via ? `?via=${this.via}` : ''}`);
    return { ...info, hls_expires_at: localExpiresAt(info.hls_expires_at, info.hls_expires_in_s, Date.now()) };
  }

  /** A fresh signed HLS URL (for the player's start, refresh and recovery). */
  private async fetchHlsSource(): Promise<HlsSource> {
    const info = await this.fetchListen();
    const offeredBefore = this.listen?.webrtc;
    this.listen = info;
    if (!this.stopped && offeredBefore !== undefined && offeredBefore !== info.webrtc) this.reconcile();
    return { url: info.hls_url, expiresAt: info.hls_expires_at };
  }

  private cachedHlsSource(): HlsSource | null {
    const info = this.listen;
    if (!info?.hls_url) return null;
    const expires = Date.parse(info.hls_expires_at);
    if (!Number.isNaN(expires) && expires - Date.now() < LISTEN_URL_MIN_LIFE_MS) return null;
    return { url: info.hls_url, expiresAt: info.hls_expires_at };
  }

  private startHls(): void {
    if (this.hls || this.stopped) return;
    const element = hlsAudioElement();
    element.volume = this.playback === 'webrtc' ? 0 : 1;
    const player: HlsPlayer = new HlsPlayer({
      element,
      live: true,
      refresh: () => this.fetchHlsSource(),
      onStatus: () => {
        if (this.hls !== player) return;
        this.settle();
        this.sync();
      },
      onPlaying: () => {
        if (this.hls !== player) return;
        this.hlsPlaying = true;
        this.settle();
        this.sync();
      },
      onBlocked: (blocked) => {
        if (this.hls === player && blocked !== this.state.blocked) this.sync({ blocked });
      },
    });
    this.hls = player;
    this.hlsPlaying = false;
    player.start(this.cachedHlsSource());
  }

  private stopHls(): void {
    const player = this.hls;
    if (!player) return;
    this.hls = null;
    this.hlsPlaying = false;
    player.destroy();
  }

  /** On HLS for want of room while low latency is chosen: look again now and then. */
  private scheduleRecheck(): void {
    const wanted = this.mode === 'hls' && this.state.preferred === 'webrtc';
    if (!wanted) {
      window.clearTimeout(this.recheckTimer);
      this.recheckTimer = undefined;
      return;
    }
    if (this.recheckTimer !== undefined) return;
    this.recheckTimer = window.setTimeout(() => {
      this.recheckTimer = undefined;
      this.fetchListen().then(
        (info) => {
          if (this.stopped) return;
          this.listen = info;
          if (info.webrtc) this.whepRefused = false;
          this.reconcile();
        },
        () => this.reconcile(),
      );
    }, LISTEN_RECHECK_MS);
  }
}
