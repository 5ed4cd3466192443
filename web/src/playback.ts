// Pure rules of live playback (no DOM, no hls.js): which path plays the room, WebRTC or HLS,
// and the bookkeeping of signed HLS URLs. Tested in test/playback.test.ts.
import type { MediaKind } from './audioRules';

/** WebRTC (WHEP/WHIP, under a second behind) or HLS (a few seconds behind, scales further). */
export type PlaybackMode = 'webrtc' | 'hls';

export interface PlaybackInputs {
  /** The WebRTC session the stage rules ask for (audioRules.mediaKindFor); null when not live. */
  kind: MediaKind | null;
  /** The listener's choice in the playback control. */
  preferred: PlaybackMode;
  /** The listen response's `webrtc`: false when this node's low-latency listeners are full. */
  webrtcOffered: boolean;
  /** A WHEP offer was answered 503 {"error": "capacity"}. */
  whepRefused: boolean;
}

/**
 * The path that should play the room. Publishing from the stage is always WebRTC: the WHIP
 * answer carries my mix-minus, and HLS would play me back to myself seconds later. A listener
 * gets WebRTC unless they chose Standard or the server has no low-latency room left.
 */
export function playbackModeFor(inputs: PlaybackInputs): PlaybackMode | null {
  if (inputs.kind === null) return null;
  if (inputs.kind === 'whip') return 'webrtc';
  if (inputs.preferred === 'hls') return 'hls';
  if (!inputs.webrtcOffered || inputs.whepRefused) return 'hls';
  return 'webrtc';
}

/** Why the room plays over HLS although low latency was chosen, if it does. */
export function playbackFallback(mode: PlaybackMode | null, preferred: PlaybackMode): 'capacity' | null {
  return mode === 'hls' && preferred === 'webrtc' ? 'capacity' : null;
}

/** A WHEP answer that means "full here, listen over HLS" rather than "try again". */
export function isCapacityRefusal(status: number, code: string): boolean {
  return status === 503 && code === 'capacity';
}

/** The stored playback choice; anything unknown is low latency. */
export function parsePreferredMode(raw: string | null | undefined): PlaybackMode {
  return raw === 'hls' ? 'hls' : 'webrtc';
}

export type HlsRecovery = 'recover-media' | 'reload';

/**
 * What to do after a fatal hls.js error. A media (decode/buffer) error is first handed to
 * hls.js's own recovery, twice at most; anything else (a network error, for instance an
 * expired URL answering 403/410) gets a fresh URL and a new player.
 */
export function hlsRecoveryFor(errorType: string, mediaRecoveries: number): HlsRecovery {
  return errorType === 'mediaError' && mediaRecoveries < 2 ? 'recover-media' : 'reload';
}

/** Refresh a signed URL this long before it expires (a quarter of its life, at most a minute). */
const MAX_REFRESH_MARGIN_MS = 60_000;
const MIN_REFRESH_DELAY_MS = 5_000;

/** When to fetch a fresh signed HLS URL, in ms from now; null when it does not expire. */
export function urlRefreshDelayMs(expiresAt: string | null, nowMs: number): number | null {
  if (!expiresAt) return null;
  const expiresMs = Date.parse(expiresAt);
  if (Number.isNaN(expiresMs)) return null;
  const remaining = expiresMs - nowMs;
  const margin = Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, remaining) / 4);
  return Math.max(MIN_REFRESH_DELAY_MS, Math.round(remaining - margin));
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:/i;

function splitUrl(url: string): { origin: string; path: string; rest: string } {
  let origin = '';
  let tail = url;
  if (ABSOLUTE_URL.test(url)) {
    const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(.*)$/i.exec(url);
    if (m) {
      origin = m[1];
      tail = m[2] || '/';
    }
  }
  const cut = tail.search(/[?#]/);
  return cut < 0 ? { origin, path: tail, rest: '' } : { origin, path: tail.slice(0, cut), rest: tail.slice(cut) };
}

/** The folder of a signed playlist URL ("/hls/7/1700000000/sig/live.m3u8" -> "/hls/7/1700000000/sig/"). */
export function hlsFolder(url: string): string {
  const { path } = splitUrl(url);
  return path.slice(0, path.lastIndexOf('/') + 1) || '/';
}

/**
 * A playlist or segment URL under an older signed folder, moved under the current one. The
 * signature is part of the path, so once a fresh URL is fetched every request is made under it
 * and hls.js never meets an expired one (no reload, no gap in the audio).
 */
export function rewriteHlsUrl(url: string, oldFolders: readonly string[], currentFolder: string): string {
  const { origin, path, rest } = splitUrl(url);
  for (const folder of oldFolders) {
    if (folder !== currentFolder && path.startsWith(folder)) {
      return origin + currentFolder + path.slice(folder.length) + rest;
    }
  }
  return url;
}

/**
 * The expiry written into a signed URL ("/hls/{space}/{scope}/{holder}/{expires}/{signature}/
 * {file}", expires in Unix seconds) as ISO, for answers that do not state it (a replay's
 * playlist); null otherwise.
 */
export function expiresFromHlsUrl(url: string): string | null {
  // The holder (u{user} or v{visitor}) is absent from links of older servers.
  const m = /\/hls\/\d+\/[a-z]+\/(?:[uv][a-z0-9]+\/)?(\d{1,12})\/[^/]+\/[^/]+$/.exec(splitUrl(url).path);
  if (!m) return null;
  const date = new Date(Number(m[1]) * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * A listen answer's expiry on this browser's clock: the server says how long the link lives
 * (live links last a minute or two), so a clock that is off still renews in time. Without that
 * (an older server), its own expiry.
 */
export function localExpiresAt(expiresAt: string, expiresInS: number | undefined, nowMs: number): string {
  if (expiresInS === undefined || !Number.isFinite(expiresInS)) return expiresAt;
  return new Date(nowMs + expiresInS * 1000).toISOString();
}
