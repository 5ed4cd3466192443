import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api, errorMessage, get } from '../api';
import { useApp } from '../context';
import { formatBytes, formatClock, formatSpoken, formatWhen } from '../format';
import type { Recording, Replay } from '../types';

/** While the recording is still being finished, look again this often. */
const FINISHING_POLL_MS = 5_000;

export function replayPath(spaceId: number): string {
  return `/spaces/${spaceId}/replay`;
}

/**
 * The host's recording of an ended space: how long and big it is, until when it is kept, a
 * download link, and publishing it as a replay for everyone.
 */
export function RecordingPanel({ spaceId, offerReplay, onPublished }: {
  spaceId: number;
  /** The host chose, when creating the space, to offer a replay. */
  offerReplay: boolean;
  onPublished: (published: boolean) => void;
}) {
  const { showError, announce } = useApp();
  const [recording, setRecording] = useState<Recording | null | undefined>(undefined);
  const [failed, setFailed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const body = await get<{ recording: Recording }>(`/api/spaces/${spaceId}/recording`);
      setRecording(body.recording);
      setFailed(null);
      onPublished(body.recording.replay_published);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setRecording(null);
      else setFailed(errorMessage(err));
    }
  }, [spaceId, onPublished]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (recording?.state !== 'recording') return undefined;
    const timer = window.setTimeout(() => void load(), FINISHING_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [recording, load]);

  const togglePublished = async () => {
    if (!recording || busy) return;
    const publish = !recording.replay_published;
    setBusy(true);
    showError(null);
    try {
      const body = await api<{ replay: Replay }>(publish ? 'POST' : 'DELETE', `/api/spaces/${spaceId}/replay`);
      setRecording({ ...recording, replay_published: body.replay.published });
      onPublished(body.replay.published);
      announce(body.replay.published ? 'Replay published' : 'Replay unpublished');
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="recording-title" class="panel" data-testid="recording"
      data-recording-state={recording ? recording.state : recording === null ? 'none' : 'loading'}>
      <h2 id="recording-title">Recording</h2>
      {recording === undefined && !failed && <p class="loading">Loading…</p>}
      {failed && (
        <div>
          <p class="field-error">{failed}</p>
          <button type="button" class="secondary small" onClick={() => void load()}>Try again</button>
        </div>
      )}
      {recording === null && <p class="hint">This space was not recorded.</p>}
      {recording && (
        <>
          {recording.state === 'recording' && (
            <p role="status">The recording is being finished. Download and replay come when it is ready.</p>
          )}
          <dl class="facts">
            <div>
              <dt>Length</dt>
              <dd><span aria-hidden="true">{formatClock(recording.duration_s)}</span>
                <span class="sr-only">{formatSpoken(recording.duration_s)}</span></dd>
            </div>
            <div><dt>Size</dt><dd>{formatBytes(recording.bytes)}</dd></div>
            <div><dt>Kept until</dt><dd>{formatWhen(recording.expires_at)}</dd></div>
          </dl>
          {recording.state === 'complete' && (
            <div class="actions">
              <a class="button secondary" href={recording.download_url} download data-testid="recording-download">
                Download recording (.m4a)
              </a>
              {(offerReplay || recording.replay_published) && (
                <button type="button" data-testid="replay-publish" aria-disabled={busy || undefined}
                  class={recording.replay_published ? 'danger-outline' : ''}
                  onClick={() => void togglePublished()}>
                  {recording.replay_published ? 'Unpublish replay' : 'Publish replay'}
                </button>
              )}
            </div>
          )}
          <p class="hint" data-testid="replay-published" data-published={recording.replay_published ? 'true' : 'false'}>
            {recording.replay_published
              ? <>The replay is public. <a href={replayPath(spaceId)}>Open the replay</a></>
              : offerReplay
                ? 'The replay is not published: only you can download the recording.'
                : 'You chose not to offer a replay of this space: only you can download the recording.'}
          </p>
        </>
      )}
    </section>
  );
}
