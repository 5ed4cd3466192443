import { useEffect, useRef, useState } from 'preact/hooks';
import { get, errorMessage } from '../api';
import { ReplayCard, SpaceCard } from '../components/SpaceCard';
import { useApp } from '../context';
import { useSpaceFeed } from '../feed';
import { usePageTitle } from '../hooks';
import { usePagedList } from '../paging';
import type { Paged, ReplaySummary, SharedItem, Space } from '../types';
import { Avatar } from '../components/Avatar';
import { sharedByWords } from '../notifyRules';
import { SignInPrompt } from './NotFound';

const FEED_RELOAD_MS = 250;
const REPLAYS_PAGE = 12;

function SpaceList({ state, title, empty, onLoaded }: {
  state: 'live' | 'scheduled'; title: string; empty: string;
  /** Called once the first answer (or error) is shown. */
  onLoaded?: () => void;
}) {
  const { user } = useApp();
  const [spaces, setSpaces] = useState<Space[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const loadedRef = useRef(onLoaded);
  loadedRef.current = onLoaded;
  // Spaces start, end and get scheduled while the page is open: the public feed says so as it
  // happens (docs/websocket.md), and the list reloads.
  const listed = useRef<Space[] | null>(null);
  listed.current = spaces;
  useSpaceFeed((changed) => {
    const concerned = changed.state === state || (listed.current ?? []).some((s) => s.id === changed.id);
    if (concerned) setVersion((v) => v + 1);
  }, () => setVersion((v) => v + 1));
  useEffect(() => {
    let active = true;
    // A burst of changes (several spaces ending at once) makes one reload.
    const timer = window.setTimeout(() => {
      get<{ spaces: Space[] }>(`/api/spaces?state=${state}`)
        .then((body) => {
          if (!active) return;
          setSpaces(body.spaces);
          setFailed(null);
        })
        .catch((err: unknown) => active && setFailed(errorMessage(err)))
        .finally(() => active && loadedRef.current?.());
    }, version === 0 ? 0 : FEED_RELOAD_MS);
    return () => {
      active = false;
      window.clearTimeout(timer);
    };
  }, [state, user, version]);
  const id = `list-${state}`;
  return (
    <section aria-labelledby={id} class="space-list">
      <h2 id={id}>{title}</h2>
      {failed && <p class="field-error">{failed}</p>}
      {!failed && spaces === null && <p class="loading">Loading…</p>}
      {spaces && spaces.length === 0 && <p class="meta">{empty}</p>}
      {spaces && spaces.length > 0 && (
        <ul class="cards" data-testid={`spaces-${state}`}>
          {spaces.map((s) => <SpaceCard key={s.id} space={s} via="home" />)}
        </ul>
      )}
    </section>
  );
}

/** Spaces people I follow shared with their followers (GET /api/home/shared); hidden when none. */
function SharedList({ onLoaded }: { onLoaded: () => void }) {
  const { user } = useApp();
  const [items, setItems] = useState<SharedItem[] | null>(null);
  const loadedRef = useRef(onLoaded);
  loadedRef.current = onLoaded;
  useEffect(() => {
    let active = true;
    get<{ items: SharedItem[] }>('/api/home/shared')
      .then((body) => { if (active) setItems(body.items); })
      // Not on this server (or failed): the section is simply not there.
      .catch(() => { if (active) setItems([]); })
      .finally(() => active && loadedRef.current());
    return () => { active = false; };
  }, [user]);
  if (!items || items.length === 0) return null;
  return (
    <section aria-labelledby="list-shared" class="space-list">
      <h2 id="list-shared">Shared by people you follow</h2>
      <ul class="cards" data-testid="spaces-shared">
        {items.map((item) => (
          <SpaceCard key={item.space.id} space={item.space} via="home">
            <p class="shared-by">
              <span class="shared-avatars" aria-hidden="true">
                {item.shared_by.slice(0, 3).map((u) => <Avatar key={u.id} user={u} size="sm" />)}
              </span>
              <span data-testid="shared-by">{sharedByWords(item.shared_by, item.shared_count)}</span>
            </p>
          </SpaceCard>
        ))}
      </ul>
    </section>
  );
}

/** Published replays still kept, the latest first, a page at a time. */
function ReplayList() {
  const { user } = useApp();
  const [list, { more, retry }] = usePagedList<ReplaySummary, Paged & { replays: ReplaySummary[] }>(
    '/api/replays', (body) => body.replays, user, REPLAYS_PAGE);
  return (
    <section aria-labelledby="list-replays" class="space-list">
      <h2 id="list-replays">Replays</h2>
      {!list.loaded && <p class="loading">Loading…</p>}
      {list.loaded && list.error === null && list.items.length === 0 && (
        <p class="meta">No replays yet. When a host publishes one, it shows here.</p>
      )}
      {list.items.length > 0 && (
        <ul class="cards" data-testid="replays">
          {list.items.map((r) => <ReplayCard key={r.space.id} replay={r} />)}
        </ul>
      )}
      {list.error !== null && (
        <p class="field-error">
          {errorMessage(list.error)}{' '}
          <button type="button" class="secondary small" onClick={list.items.length ? more : retry}>Try again</button>
        </p>
      )}
      {list.error === null && list.next !== null && (
        <button type="button" class="secondary more" disabled={list.loading} onClick={more}>
          {list.loading ? 'Loading…' : 'Show more replays'}
        </button>
      )}
    </section>
  );
}

export function HomePage() {
  const { user } = useApp();
  usePageTitle('Home');
  const [shown, setShown] = useState(1);
  return (
    <div>
      <div class="page-head">
        <h1>Spaces</h1>
        {user && <a class="button" href="/new">Start a space</a>}
      </div>
      {!user && (
        <>
          <p>Parley hosts live audio conversations. Listen in, raise your hand, and talk.</p>
          <SignInPrompt what="to start a space, follow people and take the stage" />
        </>
      )}
      {/* Each list appears once the one above it has loaded: a list filling in above another
          would push it down as the page is read (Lighthouse saw a layout shift of 0.5). */}
      <SpaceList state="live" title="Live now" empty="Nobody is live right now."
        onLoaded={() => setShown((n) => Math.max(n, user ? 2 : 3))} />
      {user && shown >= 2 && <SharedList onLoaded={() => setShown((n) => Math.max(n, 3))} />}
      {shown >= 3 && (
        <SpaceList state="scheduled" title="Upcoming" empty="No spaces are scheduled." onLoaded={() => setShown(4)} />
      )}
      {shown >= 4 && <ReplayList />}
    </div>
  );
}
