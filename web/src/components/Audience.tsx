// The audience under the stage, as on Spaces: the first listeners as avatars, the rest counted,
// kept current as people come and go (no Show or Refresh button to press).
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage, get } from '../api';
import type { Member } from '../types';
import { Avatar } from './Avatar';

/** How many listeners the grid shows before counting the rest; "Show more" adds as many. */
export const AUDIENCE_PAGE = 24;
/** Arrivals come in bursts: one reload for a burst, not one per person. */
const RELOAD_DELAY_MS = 700;

interface AudienceProps {
  spaceId: number;
  listenerCount: number;
  myId: number;
  /** Members with a pending request or invitation (from the room), to show their state live. */
  pending: ReadonlyMap<number, Member>;
  /** Who is on stage: someone going up or down changes the audience too. */
  stageKey: string;
  reactions: ReadonlyMap<number, string>;
  onOpen: (member: Member) => void;
  /** Whether I may see who listens (members may; a visitor sees the count only). */
  canList?: boolean;
}

export function Audience({ spaceId, listenerCount, myId, pending, stageKey, reactions, onOpen, canList = true }: AudienceProps) {
  const [listeners, setListeners] = useState<Member[]>([]);
  const [total, setTotal] = useState(0);
  const [shown, setShown] = useState(AUDIENCE_PAGE);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const generation = useRef(0);

  // Reload (debounced) whenever the audience changes size or more is asked for.
  useEffect(() => {
    if (!canList) return undefined;
    const mine = ++generation.current;
    const timer = window.setTimeout(async () => {
      try {
        const body = await get<{ listeners: Member[]; total: number }>(
          `/api/spaces/${spaceId}/listeners?offset=0&limit=${Math.min(shown, 200)}`);
        if (mine !== generation.current) return;
        setListeners(body.listeners);
        setTotal(body.total);
        setError(null);
      } catch (err) {
        if (mine === generation.current) setError(errorMessage(err));
      } finally {
        if (mine === generation.current) setLoaded(true);
      }
    }, loaded ? RELOAD_DELAY_MS : 0);
    return () => window.clearTimeout(timer);
  }, [spaceId, listenerCount, shown, stageKey, canList]);

  const more = canList ? Math.max(0, Math.max(total, listenerCount) - listeners.length) : 0;
  return (
    <section aria-labelledby="listeners-title" class="audience-section">
      <h2 id="listeners-title" class="section-title">
        Listeners <span class="count-pill" data-testid="listener-count"><span class="count">{listenerCount}</span>
          <span class="sr-only"> {listenerCount === 1 ? 'listener' : 'listeners'}</span></span>
      </h2>
      {error && <p class="field-error">Could not load the listeners: {error}</p>}
      {loaded && !error && listeners.length === 0 && <p class="hint">No listeners yet.</p>}
      <ul class="tile-grid audience" data-testid="listeners">
        {listeners.map((m) => {
          const member = pending.get(m.user.id) ?? m;
          const me = m.user.id === myId;
          const reaction = reactions.get(m.user.id);
          return (
            <li key={m.user.id} class="tile listener-tile" data-testid="listener" data-user-handle={m.user.handle}
              data-request={member.stage_request}>
              <button type="button" class="tile-button" aria-haspopup="dialog" onClick={() => onOpen(member)}>
                <span class="avatar-ring">
                  <Avatar user={m.user} size="md" />
                  {member.stage_request === 'requested' && <span class="tile-hand" aria-hidden="true">✋</span>}
                  {reaction && <span class="tile-reaction" aria-hidden="true">{reaction}</span>}
                </span>
                <span class="tile-name">{m.user.display_name}</span>
                {me && <span class="tile-sub">(you)</span>}
                {member.stage_request === 'requested' && <span class="sr-only">, asked to speak</span>}
                {member.stage_request === 'invited' && <span class="sr-only">, invited to speak</span>}
              </button>
            </li>
          );
        })}
      </ul>
      {more > 0 && (
        <p class="audience-more">
          <span data-testid="listener-more">+{more} more listening</span>
          {listeners.length < total && (
            <button type="button" class="secondary small" onClick={() => setShown((n) => n + AUDIENCE_PAGE)}>
              Show more<span class="sr-only"> listeners</span>
            </button>
          )}
        </p>
      )}
    </section>
  );
}
