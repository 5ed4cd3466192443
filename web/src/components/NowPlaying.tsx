import { useEffect, useMemo, useState } from 'preact/hooks';
import { hlsAudioElement, roomAudioElement } from '../audio';
import { useActiveRoom } from '../live';
import { MediaSessionSync, nowPlayingFor, PauseControl } from '../mediaSession';

/** The app's pause of the live space (lock screen, media keys, the Play button below). */
const pauseControl = new PauseControl(() => [roomAudioElement(), hlsAudioElement()]);

function usePaused(control: PauseControl): boolean {
  const [paused, setPaused] = useState(control.paused);
  useEffect(() => control.subscribe(() => setPaused(control.paused)), [control]);
  return paused;
}

/**
 * The live space this browser plays, on the OS's media controls (Media Session API), and, while
 * paused from there, a line that says so with a Play button.
 */
export function NowPlaying() {
  const room = useActiveRoom();
  const paused = usePaused(pauseControl);
  const sync = useMemo(
    () => ('mediaSession' in navigator && typeof MediaMetadata === 'function'
      ? new MediaSessionSync(navigator.mediaSession, pauseControl, (now) => new MediaMetadata(now))
      : null),
    [],
  );
  const space = room?.running && room.room?.space.state === 'live' ? room.room.space : null;
  const now = nowPlayingFor(space);

  // Another space, or none: the pause was for the last one.
  useEffect(() => {
    pauseControl.reset();
    pauseControl.player = room ? () => room.audio.resume() : null;
  }, [room]);
  useEffect(() => {
    sync?.show(now, room?.audio.state.blocked ?? false);
  });
  useEffect(() => () => sync?.show(null), [sync]);

  if (!paused || !space) return null;
  return (
    <div class="paused-bar" role="status" data-testid="audio-paused">
      <p>Paused: <span class="paused-title">{space.title}</span></p>
      <button type="button" class="small" data-testid="audio-play" onClick={() => void pauseControl.resume()}>
        Play<span class="sr-only"> {space.title}</span>
      </button>
    </div>
  );
}
