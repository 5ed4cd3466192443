import { errorMessage } from '../api';
import { PeopleList } from '../components/PeopleList';
import { useApp } from '../context';
import { useLoaded, usePageTitle } from '../hooks';
import { usePagedList } from '../paging';
import type { Paged, Profile, UserBrief } from '../types';

const PAGE = 30;

/** A person's followers, or the people they follow: paged, each linking to their profile. */
export function FollowsPage({ handle, which }: { handle: string; which: 'followers' | 'following' }) {
  const { user } = useApp();
  const [profile] = useLoaded<{ user: Profile }>(`/api/users/${encodeURIComponent(handle)}`, user);
  const [list, { more, retry }] = usePagedList<UserBrief, Paged & { users: UserBrief[] }>(
    `/api/users/${encodeURIComponent(handle)}/${which}`, (body) => body.users, user, PAGE);
  const person = profile.kind === 'ready' ? profile.value.user : null;
  const name = person?.display_name ?? `@${handle}`;
  const title = which === 'followers' ? `People following ${name}` : `People ${name} follows`;
  usePageTitle(title);

  if (profile.kind === 'missing') {
    return (
      <section aria-labelledby="follows-title">
        <h1 id="follows-title">No such user</h1>
        <p>Nobody has the handle @{handle}. <a href="/search">Search for people</a>.</p>
      </section>
    );
  }
  const count = person ? (which === 'followers' ? person.follower_count : person.following_count) : null;
  const empty = which === 'followers' ? `Nobody follows @${handle} yet.` : `@${handle} does not follow anybody yet.`;
  return (
    <section aria-labelledby="follows-title" class="follows-page">
      <p class="back-link"><a href={`/u/${handle}`}>Back to {name}’s profile</a></p>
      <h1 id="follows-title">{title}</h1>
      <nav aria-label="Follow lists">
        <ul class="tabs">
          <li>
            <a href={`/u/${handle}/followers`} aria-current={which === 'followers' ? 'page' : undefined}>
              Followers{person && <> ({person.follower_count})</>}
            </a>
          </li>
          <li>
            <a href={`/u/${handle}/following`} aria-current={which === 'following' ? 'page' : undefined}>
              Following{person && <> ({person.following_count})</>}
            </a>
          </li>
        </ul>
      </nav>
      {!list.loaded && <p class="loading">Loading…</p>}
      {list.loaded && list.error === null && list.items.length === 0 && <p class="meta">{empty}</p>}
      {list.items.length > 0 && (
        <>
          {count !== null && <p class="meta">Showing {list.items.length} of {count}.</p>}
          <PeopleList people={list.items} testId={`${which}-list`} />
        </>
      )}
      {list.error !== null && (
        <div>
          <p class="field-error">{errorMessage(list.error)}</p>
          <button type="button" class="secondary small" onClick={list.items.length ? more : retry}>Try again</button>
        </div>
      )}
      {list.error === null && list.next !== null && (
        <button type="button" class="secondary" disabled={list.loading} onClick={more}>
          {list.loading ? 'Loading…' : 'Show more'}
        </button>
      )}
    </section>
  );
}
