// Plays an HLS stream (RFC 8216) into an <audio> element: through hls.js where Media Source
// Extensions exist, through the browser's own HLS (Safari on iOS) otherwise. hls.js (its light
// build: audio needs no subtitles, alternate renditions or DRM) is loaded on first use, so pages
// that never play HLS do not download it.
//
// The stream's URL is signed and expires (a live one within minutes, issue 12). A fresh one is
// fetched before that (a quarter of its life early) and every later request is moved under the
// fresh folder (playback.rewriteHlsUrl), so playback goes on without a reload or a gap. A fatal error fetches a fresh URL and starts a new
// player, with the room socket's backoff while it keeps failing.
import type Hls from 'hls.js';
import type { ErrorData } from 'hls.js';
import { ApiError } from './api';
import { isRetryableStatus, type AudioStatus } from './audioRules';
import { hlsFolder, hlsRecoveryFor, rewriteHlsUrl, urlRefreshDelayMs } from './playback';
import { backoffDelayMs } from './roomSocket';

export interface HlsSource {
  url: string;
  /** When the signed URL stops working (ISO); null when it does not say. */
  expiresAt: string | null;
}

export interface HlsPlayerOptions {
  element: HTMLAudioElement;
  /** A live stream (start at the live edge, play at once) or a recording (start where asked). */
  live: boolean;
  /** A fresh signed URL for the same stream. Rejects with ApiError when there is none. */
  refresh: () => Promise<HlsSource>;
  /** Loading, playing (time advances), lost and being set up again, or gone for good. */
  onStatus?: (status: AudioStatus) => void;
  /** Called each time playback is seen to advance after starting or stalling. */
  onPlaying?: () => void;
  /** play() was refused for want of a user gesture (true), or later allowed (false). */
  onBlocked?: (blocked: boolean) => void;
}

type HlsClass = typeof Hls;
let hlsModule: Promise<HlsClass> | null = null;

function loadHlsJs(): Promise<HlsClass> {
  hlsModule ??= import('hls.js/light').then((m) => m.default);
  return hlsModule;
}

const HLS_MIME = 'application/vnd.apple.mpegurl';
/** Time must move this far past the 'playing' event before the stream counts as audible. */
const ADVANCE_S = 0.05;
const MAX_OLD_FOLDERS = 8;

export class HlsPlayer {
  status: AudioStatus = 'off';
  private hls: Hls | null = null;
  private destroyed = false;
  private folder: string | null = null;
  private oldFolders: string[] = [];
  /** The folder hls.js was loaded from: it reloads a live playlist from that URL as long as it
   * plays, so it is moved however many renewals ago it was (not only the last few). */
  private loadedFolder: string | null = null;
  private refreshTimer: number | undefined;
  private retryTimer: number | undefined;
  private attempt = 0;
  private mediaRecoveries = 0;
  /** currentTime at the last 'playing' event, until time is seen to advance past it. */
  private playingFrom: number | null = null;
  /** A recording's position to come back to after a new player. */
  private resumeAt: number | null = null;
  private resumePlaying: boolean;
  private readonly element: HTMLAudioElement;

  constructor(private readonly options: HlsPlayerOptions) {
    this.element = options.element;
    this.resumePlaying = options.live;
  }

  /** Start with this URL, or fetch one first. */
  start(source: HlsSource | null): void {
    const el = this.element;
    el.addEventListener('playing', this.onPlayingEvent);
    el.addEventListener('timeupdate', this.onTimeUpdate);
    el.addEventListener('waiting', this.onWaiting);
    el.addEventListener('error', this.onElementError);
    this.setStatus('connecting');
    if (source) void this.load(source);
    else this.fetchAndLoad();
  }

  /** Start playback from a user gesture (after autoplay was refused). */
  async play(): Promise<void> {
    try {
      await this.element.play();
      this.options.onBlocked?.(false);
    } catch (err) {
      if (err instanceof Error && err.name === 'NotAllowedError') this.options.onBlocked?.(true);
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    window.clearTimeout(this.refreshTimer);
    window.clearTimeout(this.retryTimer);
    const el = this.element;
    el.removeEventListener('playing', this.onPlayingEvent);
    el.removeEventListener('timeupdate', this.onTimeUpdate);
    el.removeEventListener('waiting', this.onWaiting);
    el.removeEventListener('error', this.onElementError);
    this.teardown();
    this.setStatus('off');
  }

  private setStatus(status: AudioStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }

  private setSource(source: HlsSource): void {
    const folder = hlsFolder(source.url);
    if (this.folder && this.folder !== folder && !this.oldFolders.includes(this.folder)) {
      this.oldFolders = [...this.oldFolders.slice(1 - MAX_OLD_FOLDERS), this.folder];
    }
    this.folder = folder;
    window.clearTimeout(this.refreshTimer);
    const delay = urlRefreshDelayMs(source.expiresAt, Date.now());
    if (delay !== null) this.refreshTimer = window.setTimeout(() => this.refreshAhead(), delay);
  }

  /** Fetch a fresh URL before the current one expires; requests move under it. */
  private refreshAhead(): void {
    this.options.refresh().then(
      (source) => {
        if (!this.destroyed) this.setSource(source);
      },
      (err: unknown) => {
        // A lasting refusal is left to the error path, which meets it when the URL expires.
        if (this.destroyed || (err instanceof ApiError && !isRetryableStatus(err.status))) return;
        this.refreshTimer = window.setTimeout(() => this.refreshAhead(), backoffDelayMs(3));
      },
    );
  }

  private rewrite(url: string): string {
    if (!this.folder) return url;
    const old = this.loadedFolder ? [this.loadedFolder, ...this.oldFolders] : this.oldFolders;
    return rewriteHlsUrl(url, old, this.folder);
  }

  private async load(source: HlsSource): Promise<void> {
    this.setSource(source);
    let HlsJs: HlsClass | null = null;
    try {
      HlsJs = await loadHlsJs();
    } catch {
      HlsJs = null; // the chunk failed to load: the browser's own HLS may still do
    }
    if (this.destroyed) return;
    const el = this.element;
    if (HlsJs && HlsJs.isSupported()) {
      const live = this.options.live;
      const hls = new HlsJs({
        // Audio only and small: keep a short back buffer on a live stream that plays for hours.
        backBufferLength: live ? 30 : 90,
        startPosition: this.resumeAt ?? -1,
        xhrSetup: (xhr, url) => {
          xhr.open('GET', this.rewrite(url), true);
        },
      });
      this.hls = hls;
      this.loadedFolder = hlsFolder(source.url);
      hls.on(HlsJs.Events.ERROR, (_event, data) => this.onHlsError(hls, data));
      hls.on(HlsJs.Events.MANIFEST_PARSED, () => {
        if (this.hls === hls && this.resumePlaying) void this.play();
      });
      hls.loadSource(source.url);
      hls.attachMedia(el);
    } else if (el.canPlayType(HLS_MIME)) {
      const resumeAt = this.resumeAt;
      if (resumeAt !== null) {
        el.addEventListener('loadedmetadata', () => {
          el.currentTime = resumeAt;
        }, { once: true });
      }
      el.src = source.url;
      if (this.resumePlaying) void this.play();
    } else {
      this.setStatus('unavailable');
    }
  }

  /** Drop the player (not the element's listeners), remembering a recording's position. */
  private teardown(): void {
    const el = this.element;
    if (!this.options.live && (this.hls || el.getAttribute('src'))) {
      this.resumeAt = el.currentTime > 0 ? el.currentTime : this.resumeAt;
      this.resumePlaying = !el.paused;
    }
    this.playingFrom = null;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (el.getAttribute('src')) {
      el.removeAttribute('src');
      el.load();
    }
  }

  /** Something failed for good: a fresh URL and a new player, backing off while it fails. */
  private reload(): void {
    if (this.destroyed) return;
    this.teardown();
    this.setStatus('reconnecting');
    // The first try is at once (an expired URL is fixed by a fresh one), later ones back off.
    const delay = this.attempt === 0 ? 0 : backoffDelayMs(this.attempt - 1);
    this.attempt += 1;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.fetchAndLoad(), delay);
  }

  private fetchAndLoad(): void {
    this.options.refresh().then(
      (source) => {
        if (!this.destroyed) void this.load(source);
      },
      (err: unknown) => {
        if (this.destroyed) return;
        if (err instanceof ApiError && !isRetryableStatus(err.status)) {
          this.teardown();
          this.setStatus('unavailable');
          return;
        }
        this.reload();
      },
    );
  }

  private onHlsError(hls: Hls, data: ErrorData): void {
    if (this.hls !== hls || !data.fatal) return;
    if (hlsRecoveryFor(data.type, this.mediaRecoveries) === 'recover-media') {
      this.mediaRecoveries += 1;
      hls.recoverMediaError();
      return;
    }
    this.reload();
  }

  private readonly onElementError = (): void => {
    // hls.js reports its own errors; this is the browser's own HLS failing (Safari).
    if (!this.hls && this.element.getAttribute('src')) this.reload();
  };

  private readonly onPlayingEvent = (): void => {
    this.playingFrom = this.element.currentTime;
  };

  private readonly onTimeUpdate = (): void => {
    if (this.playingFrom === null || this.element.currentTime <= this.playingFrom + ADVANCE_S) return;
    this.playingFrom = null;
    this.attempt = 0;
    this.mediaRecoveries = 0;
    this.setStatus('connected');
    this.options.onPlaying?.();
  };

  private readonly onWaiting = (): void => {
    // A live stream waiting for data is silent: say so until time moves again.
    if (this.options.live && this.status === 'connected') this.setStatus('reconnecting');
  };
}
