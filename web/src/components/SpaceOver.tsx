import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { formatWhen } from '../format';
import type { Replay, Space } from '../types';
import { RecordingPanel, replayPath } from './Recording';

/** Shown instead of the room to someone the hosts removed or blocked. */
export function RemovedNotice() {
  return (
    <div class="card ended-card">
      <p>You were removed from this space and can’t rejoin it. <a href="/">Find another space</a>.</p>
    </div>
  );
}

/**
 * An ended or canceled space: when it stopped, a link to its replay once published, and for the
 * host the recording.
 */
export function SpaceOver({ spaceId, space, isHost, offerReplay }: {
  spaceId: number;
  space: Space;
  isHost: boolean;
  /** The host chose, when creating the space, to offer a replay. */
  offerReplay: boolean;
}) {
  const [replayPublished, setReplayPublished] = useState(false);
  const ended = space.state === 'ended';

  // An ended space may have a published replay (the host also sees an unpublished one).
  useEffect(() => {
    if (!ended) return undefined;
    let active = true;
    get<{ replay: Replay }>(`/api/spaces/${spaceId}/replay`)
      .then((body) => active && setReplayPublished(body.replay.published))
      .catch(() => active && setReplayPublished(false));
    return () => {
      active = false;
    };
  }, [ended, spaceId]);

  return (
    <>
      <div class="card ended-card">
        <p>
          {space.state === 'canceled' ? 'The host canceled this space.' : `This space has ended${space.ended_at ? ` (${formatWhen(space.ended_at)})` : ''}.`}
          {' '}<a href="/">See what is live</a>.
        </p>
        {ended && replayPublished && (
          <p><a class="button" href={replayPath(spaceId)} data-testid="replay-link">Listen to the replay</a></p>
        )}
      </div>

      {ended && isHost && <RecordingPanel spaceId={spaceId} offerReplay={offerReplay} onPublished={setReplayPublished} />}
    </>
  );
}
