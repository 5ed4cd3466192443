
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Avatar } from '../components/Avatar';
import { CopyLinkButton } from '../components/Share';
import { CaptionNow, CaptionToggle, TranscriptPanel } from '../components/Transcript';
import { lineIndexAt } from '../captions';
import { useApp } from '../context';
import { formatClock, formatSpoken, formatWhen } from '../format';
import { useLoaded, usePageTitle } from '../hooks';
import type { Clip } from '../types';
import { SignInPrompt } from './NotFound';

/** The clip <audio>'s position, and seeking it (for its captions). */
function useAudioTime(ready: boolean) {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [positionS, setPositionS] = useState(0);
  useEffect(() => {
    const element = audioRef.current;
    if (!element) return undefined;
    const onTime = () => setPositionS(element.currentTime);
    element.addEventListener('timeupdate', onTime);
    element.addEventListener('seeked', onTime);
    return () => {
      element.removeEventListener('timeupdate', onTime);
      element.removeEventListener('seeked', onTime);
    };
  }, [ready]);
  const seek = useCallback((s: number) => {
    const element = audioRef.current;
    if (!element) return;
    element.currentTime = s;
    setPositionS(s);
    if (element.paused) void element.play().catch(() => undefined);
  }, []);
  return { audioRef, positionS, seek };
}

export function ClipPage({ clipId }: { clipId: string }) {
  const { user } = useApp();
  const [loaded, load] = useLoaded<{ clip: Clip }>(`/api/clips/${clipId}`, user);
  const phase = loaded.kind === 'ready' ? { kind: 'ready' as const, clip: loaded.value.clip } : loaded;
  const { audioRef, positionS, seek } = useAudioTime(phase.kind === 'ready');
  usePageTitle(phase.kind === 'ready' ? `Clip: ${phase.clip.space_title}` : 'Clip');

  if (phase.kind === 'loading') return <p class="loading">Loading…</p>;
  if (phase.kind === 'signin') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">Clip</h1>
        <SignInPrompt what="to listen to this clip" />
      </section>
    );
  }
  if (phase.kind === 'missing') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">Clip not found</h1>
        <p>There is no clip at this address. <a href="/">Go to the home page</a>.</p>
      </section>
    );
  }
  if (phase.kind === 'error') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">Could not open this clip</h1>
        <p>{phase.message}</p>
        <button type="button" onClick={load}>Try again</button>
      </section>
    );
  }

  const clip = phase.clip;
  const shareUrl = new URL(clip.page_url, location.origin).href;
  const captions = clip.captions ?? [];
  const lineIndex = lineIndexAt(captions, positionS);
  const line = lineIndex >= 0 ? captions[lineIndex] : null;
  return (
    <article aria-labelledby="clip-title" class="clip-page" data-testid="clip" data-clip-id={clip.id}>
      <header class="room-head">
        <p class="eyebrow">Clip</p>
        <h1 id="clip-title">{clip.space_title}</h1>
        <p class="meta" data-testid="clip-meta">
          {formatSpoken(clip.duration_s)} from {formatClock(clip.start_s)}, clipped by{' '}
          <Avatar user={clip.created_by} size="sm" />
          <a href={`/u/${clip.created_by.handle}`}>{clip.created_by.display_name}</a>
          <span class="handle"> @{clip.created_by.handle}</span> · {formatWhen(clip.created_at)}
        </p>
        {clip.visibility === 'private' && (
          <p class="hint" data-testid="clip-private">
            Private: only you can hear this clip. Its space has ended and the host has not published
            the replay; others can hear the clip once the host publishes it.
          </p>
        )}
      </header>
      <section aria-labelledby="clip-listen-title" class="panel">
        <h2 id="clip-listen-title">Listen</h2>
        <audio ref={audioRef} controls preload="metadata" src={clip.audio_url} class="clip-audio" data-testid="clip-audio"
          aria-label={`Clip from ${clip.space_title}`} />
        {captions.length > 0 && (
          <>
            <CaptionNow line={line} />
            <CaptionToggle sizeId="clip-caption-size" />
          </>
        )}
        <div class="actions">
          <CopyLinkButton url={shareUrl} label="Copy share link" inputId="clip-share-link" inputLabel="Link to this clip" />
          <a class="button secondary" href={clip.audio_url} download={`parley-clip-${clip.id}.m4a`} data-testid="clip-download">
            Download<span class="sr-only"> the clip (.m4a)</span>
          </a>
        </div>
      </section>
      {captions.length > 0 && (
        <TranscriptPanel lines={captions} currentId={line ? line.id : null} seek={seek}
          idPrefix="clip-transcript" title="What is said" />
      )}
      <p><a href={`/s/${clip.space_id}`}>Go to the space</a></p>
    </article>
  );
}
