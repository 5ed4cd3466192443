import { useApp } from '../context';
import { leaveActiveRoom, useActiveRoom } from '../live';
import type { Route } from '../router';
import { onStage } from '../types';
import { AudioControls } from './Audio';

/**
 * The space this browser is connected to, on every page but its room: title, my mute
 * button when on stage, and Leave (which ends the room socket and the audio sessions).
 */
export function MiniPlayer({ route }: { route: Route }) {
  const room = useActiveRoom();
  const { showError, announce } = useApp();
  if (!room || !room.running || !room.room) return null;
  if (route.name === 'space' && route.id === room.spaceId) return null;
  const me = room.room.me;
  const title = room.room.space.title;
  const stage = onStage(me);

  const toggleMute = async () => {
    showError(null);
    // Unmuting turns the microphone on first when it is off (one gesture).
    const problem = me.muted ? await room.unmute() : await room.mute();
    if (problem) showError(problem);
  };
  const leave = () => {
    leaveActiveRoom();
    announce(`Left ${title}`);
    // The bar (and the focused button) goes away: keep keyboard focus on the page.
    const heading = document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  };

  return (
    <aside class="mini-player" aria-label="Now playing" data-testid="mini-player">
      <div class="mini-inner">
        <div class="mini-info">
          <span class="badge live">Live</span>
          <a class="mini-title" href={`/s/${room.spaceId}`}>{title}</a>
          <AudioControls audio={room.audio} compact />
        </div>
        <div class="mini-actions">
          {stage && (
            <button type="button" class={`small${me.muted ? '' : ' secondary'}`} data-testid="mini-mute"
              onClick={() => void toggleMute()}>
              {me.muted ? 'Unmute' : 'Mute'}
            </button>
          )}
          <button type="button" class="small danger-outline" data-testid="mini-leave" onClick={leave}>
            Leave<span class="sr-only"> {title}</span>
          </button>
        </div>
      </div>
    </aside>
  );
}
