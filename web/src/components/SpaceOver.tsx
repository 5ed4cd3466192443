import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { formatWhen } from '../format';
import { plural } from '../format';
import type { Replay, Space, Transcript } from '../types';
import { RecordingPanel, replayPath } from './Recording';
import { TranscriptDownloads } from './Transcript';

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
export function SpaceOver({ spaceId, space, isHost, offerReplay, showAnalytics = false }: {
  spaceId: number;
  space: Space;
  isHost: boolean;
  /** The host chose, when creating the space, to offer a replay. */
  offerReplay: boolean;
  /** The host and co-hosts see a link to the space's analytics. */
  showAnalytics?: boolean;
}) {
  const [replayPublished, setReplayPublished] = useState(false);
  const [hasTranscript, setHasTranscript] = useState(false);
  const [transcript, setTranscript] = useState<Transcript | null>(null);
  const ended = space.state === 'ended';

  // An ended space may have a published replay (the host also sees an unpublished one).
  useEffect(() => {
    if (!ended) return undefined;
    let active = true;
    get<{ replay: Replay }>(`/api/spaces/${spaceId}/replay`)
      .then((body) => {
        if (!active) return;
        setReplayPublished(body.replay.published);
        setHasTranscript(!!body.replay.has_transcript);
      })
      .catch(() => active && setReplayPublished(false));
    return () => {
      active = false;
    };
  }, [ended, spaceId]);

  // A captioned space's transcript, for those who may download it (the host, who spoke).
  const askTranscript = ended && (hasTranscript || space.captions);
  useEffect(() => {
    if (!askTranscript) return undefined;
    let active = true;
    get<{ transcript: Transcript }>(`/api/spaces/${spaceId}/transcript`)
      .then((body) => active && setTranscript(body.transcript))
      .catch(() => active && setTranscript(null));
    return () => {
      active = false;
    };
  }, [askTranscript, spaceId]);

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
        {ended && showAnalytics && (
          <p><a class="button secondary" href={`/s/${spaceId}/analytics`} data-testid="space-analytics-link">See the analytics</a></p>
        )}
      </div>

      {ended && isHost && <RecordingPanel spaceId={spaceId} offerReplay={offerReplay} onPublished={setReplayPublished} />}

      {transcript && transcript.downloadable && transcript.lines.length > 0 && (
        <section aria-labelledby="transcript-title" class="panel" data-testid="space-transcript">
          <h2 id="transcript-title">Transcript</h2>
          <p class="hint">
            {plural(transcript.lines.length, 'captioned line', 'captioned lines')}.
            {replayPublished && <> Read it with the replay: <a href={replayPath(spaceId)}>open the replay</a>.</>}
          </p>
          <TranscriptDownloads spaceId={spaceId} />
        </section>
      )}
    </>
  );
}
