import type { ComponentChildren } from 'preact';
import type { Arrival } from '../analyticsRules';
import { formatSpoken, formatWhen, plural } from '../format';
import type { ReplaySummary, Space } from '../types';
import { ReminderToggle } from './Reminder';

/** A time for people anywhere: the zone is in the text (format.ts), the instant in the markup. */
export function When({ iso }: { iso: string | null }) {
  if (!iso) return null;
  return <time dateTime={iso}>{formatWhen(iso)}</time>;
}

function Host({ space }: { space: Space }) {
  return (
    <p class="meta">
      Hosted by <a href={`/u/${space.host.handle}`}>{space.host.display_name}</a>{' '}
      <span class="handle">@{space.host.handle}</span>
    </p>
  );
}

function Topics({ topics }: { topics: string[] }) {
  if (topics.length === 0) return null;
  return (
    <ul class="topics" aria-label="Topics">
      {topics.map((t) => <li key={t} class="topic">{t}</li>)}
    </ul>
  );
}

/**
 * A live, upcoming or (with a published replay) ended space in a list; `via` says where the list
 * is (the home page), for the host's analytics.
 */
export function SpaceCard({ space, via, children }: { space: Space; via?: Arrival; children?: ComponentChildren }) {
  const ended = space.state === 'ended';
  return (
    <li class="card space-card" data-testid="space-card" data-state={space.state}>
      <h3><a href={ended ? `/spaces/${space.id}/replay` : `/s/${space.id}`} data-via={via}>{space.title}</a></h3>
      <Host space={space} />
      <Topics topics={space.topics} />
      <p class="meta">
        {space.state === 'live' && (
          <><span class="badge live">Live</span> {plural(space.listener_count, 'listener', 'listeners')}, {plural(space.stage_count, 'on stage', 'on stage')}</>
        )}
        {space.state === 'scheduled' && <>Starts <When iso={space.scheduled_for} /></>}
        {ended && <><span class="badge replay">Replay</span> Ended <When iso={space.ended_at} /></>}
      </p>
      {space.state === 'scheduled' && <ReminderToggle spaceId={space.id} reminded={space.reminded} compact />}
      {children}
    </li>
  );
}

/** A published replay in a list: what it was, when, how long, until when it is kept. */
export function ReplayCard({ replay }: { replay: ReplaySummary }) {
  const space = replay.space;
  return (
    <li class="card space-card" data-testid="replay-card">
      <h3><a href={`/spaces/${space.id}/replay`}>{space.title}</a></h3>
      <Host space={space} />
      <Topics topics={space.topics} />
      <p class="meta">
        <span class="badge replay">Replay</span> <When iso={space.started_at ?? space.ended_at} />
        {' '}· {formatSpoken(replay.duration_s)}
      </p>
      <p class="hint">Available until <When iso={replay.expires_at} /></p>
    </li>
  );
}
