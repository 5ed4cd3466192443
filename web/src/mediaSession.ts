// The OS's media controls (lock screen, notification shade, headset and keyboard media keys) for
// the live space this browser plays, through the Media Session API: the space's title and host,
// the app's icon, and play/pause. Pausing silences this browser only: the room, its socket and
// the audio sessions go on, so play picks up at once (a live HLS stream that fell far behind
// jumps back near its live edge).
//
// RoomAudio (audio.ts) has no pause of its own, so PauseControl pauses the app's <audio>
// elements and keeps them paused if RoomAudio starts them again (a reconnect, a path switch);
// play goes through RoomAudio.resume(), which also clears an autoplay block.

export interface SpaceInfo {
  title: string;
  host: { display_name: string; handle: string };
}

export interface NowPlaying {
  title: string;
  artist: string;
  album: string;
  artwork: MediaImage[];
}

/** The app's icon (scripts/icons.mjs), as the lock screen's artwork. */
export const ARTWORK: readonly MediaImage[] = [
  { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
  { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
];

/** After a pause, a live stream further than this behind its live edge jumps forward... */
export const LIVE_MAX_BEHIND_S = 10;
/** ...to this far behind the edge (hls.js's own live position: three 1 s segments). */
export const LIVE_LAG_S = 3;

/** What the OS shows for a live space; null when none plays. */
export function nowPlayingFor(space: SpaceInfo | null): NowPlaying | null {
  if (!space) return null;
  return {
    title: space.title || 'Live space',
    artist: `${space.host.display_name} (@${space.host.handle})`,
    album: 'Live on Parley',
    artwork: ARTWORK.map((image) => ({ ...image })),
  };
}

/**
 * The OS's play/pause button: none while no space plays; paused when paused here or when the
 * browser refused to start the audio (its play button then starts it).
 */
export function playbackStateFor(playing: boolean, paused: boolean, blocked = false): MediaSessionPlaybackState {
  if (!playing) return 'none';
  return paused || blocked ? 'paused' : 'playing';
}

/** Where a live stream goes on after a pause: near its live edge if it fell far behind, else null (where it was). */
export function liveResumeTime(
  currentTime: number,
  liveEdge: number | null,
  maxBehindS = LIVE_MAX_BEHIND_S,
  lagS = LIVE_LAG_S,
): number | null {
  if (liveEdge === null || !Number.isFinite(liveEdge)) return null;
  if (liveEdge - currentTime <= maxBehindS) return null;
  return Math.max(0, liveEdge - lagS);
}

/** What pausing needs of an <audio> element (a fake one in the tests). */
export interface Playable {
  readonly paused: boolean;
  currentTime: number;
  readonly seekable: { readonly length: number; end(index: number): number };
  readonly srcObject: unknown;
  readonly currentSrc: string;
  pause(): void;
  play(): Promise<void>;
  addEventListener(type: 'play', listener: () => void): void;
  removeEventListener(type: 'play', listener: () => void): void;
}

function hasSource(element: Playable): boolean {
  return (element.srcObject ?? null) !== null || element.currentSrc !== '';
}

function liveEdge(element: Playable): number | null {
  const ranges = element.seekable;
  return ranges.length > 0 ? ranges.end(ranges.length - 1) : null;
}

/** A pause of this browser's playback of the live space, kept until play (or a new space). */
export class PauseControl {
  paused = false;
  /** Starts playback again (the room's RoomAudio.resume); without one, each element is played. */
  player: (() => Promise<void>) | null = null;
  private guarded: Playable[] = [];
  private readonly listeners = new Set<() => void>();

  /** `elements`: the app's audio elements (live: one per path). */
  constructor(private readonly elements: () => readonly Playable[]) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const element of this.elements()) {
      element.addEventListener('play', this.keepPaused);
      this.guarded.push(element);
      element.pause();
    }
    this.emit();
  }

  /** Play: after a pause, or after the browser refused to start playing (autoplay). */
  async resume(): Promise<void> {
    const playing = this.elements().filter(hasSource);
    if (this.paused) {
      this.release();
      this.paused = false;
      this.emit();
      for (const element of playing) {
        const to = liveResumeTime(element.currentTime, liveEdge(element));
        if (to !== null) element.currentTime = to;
      }
    }
    if (this.player) {
      await this.player();
      return;
    }
    // A refusal (autoplay) leaves the element paused; RoomAudio's own block state shows it.
    await Promise.all(playing.map((element) => element.play().catch(() => undefined)));
  }

  /** Forget the pause (the space was left, or another opened): the next space plays. */
  reset(): void {
    if (!this.paused) return;
    this.release();
    this.paused = false;
    this.emit();
  }

  private release(): void {
    for (const element of this.guarded) element.removeEventListener('play', this.keepPaused);
    this.guarded = [];
  }

  /** Something else started an element while paused (a reconnect): pause it again. */
  private readonly keepPaused = (): void => {
    if (!this.paused) return;
    for (const element of this.guarded) if (!element.paused) element.pause();
  };

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** The part of `navigator.mediaSession` used here. */
export interface MediaSessionLike {
  metadata: MediaMetadata | null;
  playbackState: MediaSessionPlaybackState;
  setActionHandler(action: MediaSessionAction, handler: MediaSessionActionHandler | null): void;
}

/** Keeps the OS's media session showing what plays, with play/pause going to `control`. */
export class MediaSessionSync {
  private shown: string | null = null;

  constructor(
    private readonly session: MediaSessionLike,
    private readonly control: PauseControl,
    private readonly metadataFor: (now: NowPlaying) => MediaMetadata,
  ) {}

  /**
   * Show `now` (null: nothing plays, and the controls go away); `blocked`: the browser refused
   * to start the audio. Cheap to call on every change.
   */
  show(now: NowPlaying | null, blocked = false): void {
    if (!now) {
      if (this.shown === null) return;
      this.shown = null;
      this.session.metadata = null;
      this.session.playbackState = 'none';
      this.handle('play', null);
      this.handle('pause', null);
      return;
    }
    const key = JSON.stringify([now.title, now.artist]);
    if (key !== this.shown) {
      if (this.shown === null) {
        this.handle('play', () => void this.control.resume());
        this.handle('pause', () => this.control.pause());
      }
      this.shown = key;
      this.session.metadata = this.metadataFor(now);
    }
    this.session.playbackState = playbackStateFor(true, this.control.paused, blocked);
  }

  private handle(action: MediaSessionAction, handler: MediaSessionActionHandler | null): void {
    try {
      this.session.setActionHandler(action, handler);
    } catch {
      /* an action this browser does not know */
    }
  }
}
