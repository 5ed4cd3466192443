import { formatWhen, plural } from '../format';
import type { Space } from '../types';
import { CaptionSettings } from './Captions';
import { ConfirmButton } from './ConfirmButton';

/** A space that has not started: when it will, and for the host, starting or canceling it. */
export function ScheduledPanel({ space, isHost, onStart, onCancel }: {
  space: Space; isHost: boolean; onStart: () => void; onCancel: () => void;
}) {
  return (
    <section aria-labelledby="when-title" class="panel">
      <h2 id="when-title">Not started yet</h2>
      <p>This space starts {formatWhen(space.scheduled_for)}.</p>
      {isHost && (
        <div class="actions">
          <button type="button" onClick={onStart}>Start space</button>
          <ConfirmButton label="Cancel space" question="Cancel this space for everyone?"
            confirmLabel="Yes, cancel space" keepLabel="Keep it" onConfirm={onCancel} />
        </div>
      )}
      {isHost && (
        <>
          <h3>Captions</h3>
          <CaptionSettings space={space} announceChanges />
        </>
      )}
    </section>
  );
}

/** The host's tools while the space is live: ending it for everyone. */
export function HostTools({ stageCount, onEnd }: { stageCount: number; onEnd: () => void }) {
  return (
    <section aria-labelledby="host-title" class="panel">
      <h2 id="host-title">Host tools</h2>
      <p class="hint">{plural(stageCount, 'person', 'people')} on stage. Ending the space stops it for everyone.</p>
      <ConfirmButton label="End space" question="End this space for everyone?"
        confirmLabel="Yes, end space" keepLabel="Keep it going" onConfirm={onEnd} />
    </section>
  );
}
