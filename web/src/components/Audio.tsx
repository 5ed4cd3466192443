import type { RoomAudio } from '../audio';
import { audioStatusText } from '../audioRules';
import type { PlaybackMode } from '../playback';

/** The audio's state in a line, and the way out when the browser blocks playback. */
export function AudioControls({ audio, compact = false }: { audio: RoomAudio; compact?: boolean }) {
  const { kind, status, blocked, playback, mode } = audio.state;
  return (
    <div class={`audio-bar${compact ? ' compact' : ''}`}>
      <p class="audio-status" role="status" data-testid="audio-status"
        data-audio-kind={kind ?? 'off'} data-audio-status={status} data-audio-blocked={blocked ? 'true' : 'false'}
        data-playback={playback ?? 'off'} data-playback-target={mode ?? 'off'}>
        <span class={`audio-dot status-${status}`} aria-hidden="true" />
        {audioStatusText(audio.state)}
      </p>
      {blocked && (
        <button type="button" class="small" data-testid="audio-unblock" onClick={() => void audio.resume()}>
          Audio blocked — tap to listen
        </button>
      )}
    </div>
  );
}

/**
 * Low latency (WebRTC) or standard (HLS, a few seconds behind). Publishing from the stage is
 * always low latency; the choice applies again once off stage.
 */
export function PlaybackControl({ audio }: { audio: RoomAudio }) {
  const { preferred, fallback, kind } = audio.state;
  let hint = '';
  if (kind === 'whip') hint = 'On stage you always hear the room instantly.';
  else if (fallback === 'capacity') hint = 'Instant listening is full right now, so the room plays a few seconds behind.';
  else if (preferred === 'hls') hint = 'Data saver plays a few seconds behind and uses less data.';
  return (
    <div class="playback-mode">
      <label for="playback-mode">Playback</label>
      <select id="playback-mode" data-testid="playback-mode" value={preferred}
        aria-describedby={hint ? 'playback-hint' : undefined}
        onChange={(e) => audio.setPreferred(e.currentTarget.value as PlaybackMode)}>
        <option value="webrtc">Live (instant)</option>
        <option value="hls">Live (data saver)</option>
      </select>
      {hint && <span id="playback-hint" class="hint">{hint}</span>}
    </div>
  );
}

/** The microphone of a stage member: why it is needed, asking for it, and what went wrong. */
export function MicPanel({ audio, muted }: { audio: RoomAudio; muted: boolean }) {
  const mic = audio.state.mic;
  let text: string;
  let problem = false;
  switch (mic) {
    case 'off':
      text = 'To be heard, turn on your microphone. Your browser will ask for permission. '
        + 'You stay muted until you press Unmute.';
      break;
    case 'asking':
      text = 'Waiting for microphone permission: answer your browser’s prompt.';
      break;
    case 'on':
      text = muted ? 'Microphone on. You are muted.' : 'Microphone on. Everyone can hear you.';
      break;
    case 'denied':
      text = 'Microphone access is blocked, so nobody can hear you. Allow the microphone for this site '
        + 'in your browser’s site settings (the icon next to the address), then try again.';
      problem = true;
      break;
    case 'unavailable':
      text = 'No microphone could be used. Connect one (or close other apps using it), then try again.';
      problem = true;
      break;
    default:
      text = 'The microphone could not be started. Try again.';
      problem = true;
  }
  const label = mic === 'off' ? 'Turn on microphone' : 'Try again';
  return (
    <div class="mic-panel" data-testid="mic" data-mic-state={mic}>
      <p role="status" class={problem ? 'mic-problem' : 'hint'}>{text}</p>
      {(mic === 'off' || problem) && (
        <button type="button" class={problem ? 'secondary' : ''} data-testid="mic-enable"
          aria-label={mic === 'off' ? undefined : 'Try the microphone again'}
          onClick={() => void audio.enableMic()}>
          {label}
        </button>
      )}
    </div>
  );
}
