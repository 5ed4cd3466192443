import { useState } from 'preact/hooks';
import { errorMessage, post } from '../api';
import { useApp } from '../context';
import { formatSpoken } from '../format';
import type { Clip } from '../types';

export interface ClipRequest {
  duration_s: number;
  /** null on a live space: the last duration_s seconds. */
  start_s: number | null;
}

/**
 * A button that makes a clip (POST /api/spaces/{id}/clips) and then links to its page. The
 * link appears in a status region, so screen readers hear that the clip is ready.
 */
export function ClipMaker({ spaceId, label, request, hint, testId }: {
  spaceId: number;
  label: string;
  /** What to clip, asked at the click; null when there is nothing to clip. */
  request: () => ClipRequest | null;
  hint?: string;
  testId: string;
}) {
  const { showError, announce } = useApp();
  const [busy, setBusy] = useState(false);
  const [clip, setClip] = useState<Clip | null>(null);

  const make = async () => {
    const body = request();
    if (!body || busy) return;
    setBusy(true);
    showError(null);
    try {
      const answer = await post<{ clip: Clip }>(`/api/spaces/${spaceId}/clips`, body);
      setClip(answer.clip);
    } catch (err) {
      showError(errorMessage(err));
      announce('The clip could not be made');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="clip-maker">
      <div class="actions">
        <button type="button" data-testid={testId} aria-disabled={busy || undefined}
          disabled={request() === null} aria-describedby={hint ? `${testId}-hint` : undefined}
          onClick={() => void make()}>
          {label}
        </button>
        {hint && <span class="hint" id={`${testId}-hint`}>{hint}</span>}
      </div>
      <p role="status" class="clip-status" data-testid="clip-status">
        {busy ? 'Making the clip…' : clip ? (
          <>
            Clip ready ({formatSpoken(clip.duration_s)}):{' '}
            <a href={clip.page_url} data-testid="clip-link">Open the clip</a>
          </>
        ) : ''}
      </p>
    </div>
  );
}
