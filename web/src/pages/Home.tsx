import { useEffect, useState } from 'preact/hooks';
import { get, errorMessage } from '../api';
import { useApp } from '../context';
import { formatWhen, plural } from '../format';
import { usePageTitle } from '../hooks';
import type { Space } from '../types';
import { SignInPrompt } from './NotFound';

const REFRESH_MS = 30_000;

function SpaceCard({ space }: { space: Space }) {
  return (
    <li class="card space-card" data-testid="space-card">
      <h3><a href={`/s/${space.id}`}>{space.title}</a></h3>
      <p class="meta">
        Hosted by {space.host.display_name} <span class="handle">@{space.host.handle}</span>
      </p>
      {space.topics.length > 0 && (
        <ul class="topics" aria-label="Topics">
          {space.topics.map((t) => <li key={t} class="topic">{t}</li>)}
        </ul>
      )}
      <p class="meta">
        {space.state === 'live'
          ? <><span class="badge live">Live</span> {plural(space.listener_count, 'listener', 'listeners')}, {plural(space.stage_count, 'on stage', 'on stage')}</>
          : <>Starts {formatWhen(space.scheduled_for)}</>}
      </p>
    </li>
  );
}

function SpaceList({ state, title, empty }: { state: 'live' | 'scheduled'; title: string; empty: string }) {
  const [spaces, setSpaces] = useState<Space[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let active = true;
    const load = () =>
      get<{ spaces: Space[] }>(`/api/spaces?state=${state}`)
        .then((body) => {
          if (!active) return;
          setSpaces(body.spaces);
          setFailed(null);
        })
        .catch((err: unknown) => active && setFailed(errorMessage(err)));
    void load();
    // Spaces start and end while the page is open; a quiet refresh keeps the lists current.
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      active = false;
      window.clearInterval(timer);
    };
  }, [state]);
  const id = `list-${state}`;
  return (
    <section aria-labelledby={id} class="space-list">
      <h2 id={id}>{title}</h2>
      {failed && <p class="field-error">{failed}</p>}
      {!failed && spaces === null && <p class="loading">Loading…</p>}
      {spaces && spaces.length === 0 && <p class="meta">{empty}</p>}
      {spaces && spaces.length > 0 && (
        <ul class="cards" data-testid={`spaces-${state}`}>
          {spaces.map((s) => <SpaceCard key={s.id} space={s} />)}
        </ul>
      )}
    </section>
  );
}

export function HomePage() {
  const { user } = useApp();
  usePageTitle('Home');
  return (
    <div>
      <div class="page-head">
        <h1>Spaces</h1>
        {user && <a class="button" href="/new">Start a space</a>}
      </div>
      {user ? (
        <>
          <SpaceList state="live" title="Live now" empty="Nobody is live right now." />
          <SpaceList state="scheduled" title="Upcoming" empty="No spaces are scheduled." />
        </>
      ) : (
        <>
          <p>Parley hosts live audio conversations. Listen in, raise your hand, and talk.</p>
          <SignInPrompt what="to see live and upcoming spaces" />
        </>
      )}
    </div>
  );
}
