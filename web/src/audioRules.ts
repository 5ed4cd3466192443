// Pure rules of the live audio (no WebRTC, no DOM), so they can be unit tested.
import type { PlaybackMode } from './playback';

/** WHIP publishes (stage members; the answer carries their mix-minus), WHEP listens. */
export type MediaKind = 'whip' | 'whep';

/** The media connection: none, being set up, up, lost and being set up again, or refused. */
export type AudioStatus = 'off' | 'connecting' | 'connected' | 'reconnecting' | 'unavailable';

/** The microphone: not asked for, asking, on, refused by the user, missing, or failed. */
export type MicState = 'off' | 'asking' | 'on' | 'denied' | 'unavailable' | 'error';

export interface AudioWants {
  /** The space is live and this browser is in its room. */
  live: boolean;
  /** My role is host, co-host or speaker. */
  onStage: boolean;
  /** The server's mute state of my seat. */
  muted: boolean;
}

/**
 * Which session this browser should hold: none when not live; WHIP when on stage with a
 * microphone (unless the server refused publishing); otherwise WHEP, so a stage member
 * without a microphone still hears the room.
 */
export function mediaKindFor(wants: AudioWants, micOn: boolean, publishRefused: boolean): MediaKind | null {
  if (!wants.live) return null;
  if (wants.onStage && micOn && !publishRefused) return 'whip';
  return 'whep';
}

/**
 * Whether a failed WHIP/WHEP request is worth trying again: the network, the server being
 * busy or failing, rate limits. 401/403/404/409 (signed out, not allowed, gone, not live) and
 * a refused offer are not.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** getUserMedia's error name as a microphone state. */
export function micStateForError(name: string): MicState {
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError' || name === 'DevicesNotFoundError') {
    return 'unavailable';
  }
  return 'error';
}

export interface AudioView {
  kind: MediaKind | null;
  status: AudioStatus;
  blocked: boolean;
  /** The path heard now; absent means WebRTC only. */
  playback?: PlaybackMode | null;
  /** The path chosen (what playback moves to); absent means WebRTC only. */
  mode?: PlaybackMode | null;
}

/** A short status line for the room page and the mini-player. */
export function audioStatusText(view: AudioView): string {
  const mode = view.mode === undefined ? (view.kind ? 'webrtc' : null) : view.mode;
  const setting = view.status === 'connecting' || view.status === 'reconnecting';
  if (mode === 'hls') {
    if (view.status === 'off') return 'Audio off';
    if (view.status === 'unavailable') return 'Audio unavailable';
    if (view.blocked) return 'Audio paused by the browser';
    if (view.status === 'connected') return 'Listening (data saver)';
    if (view.playback === 'webrtc') return 'Switching to data saver…';
    return view.status === 'reconnecting' ? 'Audio reconnecting…' : 'Connecting audio…';
  }
  if (mode === 'webrtc' && view.playback === 'hls' && setting) return 'Switching to instant…';
  if (view.kind === null || view.status === 'off') return 'Audio off';
  if (view.status === 'unavailable') return 'Audio unavailable';
  if (view.status === 'reconnecting') return 'Audio reconnecting…';
  if (view.status === 'connecting') return 'Connecting audio…';
  if (view.blocked) return 'Audio paused by the browser';
  return view.kind === 'whip' ? 'On air: hearing the stage' : 'Listening';
}

/** Why the microphone cannot be used, in words for the user; null when it is on (or being asked). */
export function micProblem(mic: MicState): string | null {
  switch (mic) {
    case 'on':
    case 'asking':
      return null;
    case 'denied':
      return 'Microphone access is blocked, so you stay muted. Allow the microphone for this site in '
        + 'your browser’s site settings (the icon next to the address), then try again.';
    case 'unavailable':
      return 'No microphone could be used, so you stay muted. Connect one (or close other apps using it), then try again.';
    case 'off':
      return 'The microphone was not turned on, so you stay muted.';
    default:
      return 'The microphone could not be started, so you stay muted. Try again.';
  }
}
