
import { Avatar } from '../components/Avatar';
import { CopyLinkButton } from '../components/Share';
import { useApp } from '../context';
import { formatClock, formatSpoken, formatWhen } from '../format';
import { useLoaded, usePageTitle } from '../hooks';
import type { Clip } from '../types';
import { SignInPrompt } from './NotFound';

export function ClipPage({ clipId }: { clipId: string }) {
  const { user } = useApp();
  const [loaded, load] = useLoaded<{ clip: Clip }>(`/api/clips/${clipId}`, user);
  const phase = loaded.kind === 'ready' ? { kind: 'ready' as const, clip: loaded.value.clip } : loaded;
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
      </header>
      <section aria-labelledby="clip-listen-title" class="panel">
        <h2 id="clip-listen-title">Listen</h2>
        <audio controls preload="metadata" src={clip.audio_url} class="clip-audio" data-testid="clip-audio"
          aria-label={`Clip from ${clip.space_title}`} />
        <div class="actions">
          <CopyLinkButton url={shareUrl} label="Copy share link" inputId="clip-share-link" inputLabel="Link to this clip" />
          <a class="button secondary" href={clip.audio_url} download={`parley-clip-${clip.id}.m4a`} data-testid="clip-download">
            Download<span class="sr-only"> the clip (.m4a)</span>
          </a>
        </div>
      </section>
      <p><a href={`/s/${clip.space_id}`}>Go to the space</a></p>
    </article>
  );
}
