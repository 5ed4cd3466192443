import type { RoomAudio } from '../audio';
import { formatWhen } from '../format';
import type { Space } from '../types';
import { AudioControls } from './Audio';
import { ConfirmButton } from './ConfirmButton';

export type RemovedReason = 'removed' | 'blocked';

interface StateBannerProps {
  space: Space;
  /** Set when this user was put out of the space; it outranks the space's own state. */
  removedReason: RemovedReason | null;
  reconnecting: boolean;
}

function StateBanner({ space, removedReason, reconnecting }: StateBannerProps) {
  let text: string;
  let tone = 'neutral';
  if (removedReason) {
    text = removedReason === 'blocked' ? 'You can’t be in this space.' : 'You were removed from this space';
    tone = 'ended';
  } else if (space.state === 'ended') {
    text = 'This space has ended';
    tone = 'ended';
  } else if (space.state === 'canceled') {
    text = 'This space was canceled';
    tone = 'ended';
  } else if (space.state === 'scheduled') {
    text = `Scheduled for ${formatWhen(space.scheduled_for)}`;
  } else {
    text = 'Live';
    tone = 'live';
  }
  return (
    <div class={`state-banner tone-${tone}`} data-testid="space-state" data-state={removedReason ? 'removed' : space.state}>
      <span>{text}</span>
      {reconnecting && (
        <span class="hint" role="status"> Reconnecting…</span>
      )}
    </div>
  );
}

/** The top of a space's page: title, state, audio while live, host and topics; End for the host. */
export function RoomHeader({ space, removedReason, reconnecting, liveAudio, onEnd }: StateBannerProps & {
  spaceId: number;
  /** The room's audio while this page is live in it; null otherwise. */
  liveAudio: RoomAudio | null;
  /** Set for the host of a live space: ending it for everyone, after a confirmation. */
  onEnd?: () => void;
}) {
  return (
    <header class="room-head">
      <h1 id="room-title">{space.title}</h1>
      <div class="room-meta-row">
        <StateBanner space={space} removedReason={removedReason} reconnecting={reconnecting} />
        <p class="meta">
          Hosted by <a href={`/u/${space.host.handle}`}>{space.host.display_name}</a>
          <span class="handle"> @{space.host.handle}</span>
        </p>
        {onEnd && (
          <div class="room-end">
            <ConfirmButton label="End space" question="End this space for everyone?"
              confirmLabel="Yes, end space" keepLabel="Keep it going" onConfirm={onEnd} tone="danger small" />
          </div>
        )}
      </div>
      {space.topics.length > 0 && (
        <ul class="topics" aria-label="Topics">
          {space.topics.map((t) => <li key={t} class="topic">{t}</li>)}
        </ul>
      )}
      {liveAudio && <AudioControls audio={liveAudio} />}
    </header>
  );
}
