import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, post, errorMessage } from '../api';
import type { ReactionsEvent } from '../types';

export const REACTIONS: { emoji: string; name: string }[] = [
  { emoji: '💯', name: 'hundred points' },
  { emoji: '✋', name: 'raised hand' },
  { emoji: '✊', name: 'raised fist' },
  { emoji: '✌️', name: 'victory hand' },
  { emoji: '👋', name: 'waving hand' },
  { emoji: '😂', name: 'tears of joy' },
  { emoji: '❤️', name: 'red heart' },
  { emoji: '👏', name: 'clapping hands' },
  { emoji: '🔥', name: 'fire' },
  { emoji: '😮', name: 'surprised' },
];

export function ReactionBar({ spaceId, disabled }: { spaceId: number; disabled?: boolean }) {
  const [status, setStatus] = useState('');
  const clearTimer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(clearTimer.current), []);

  const react = async (emoji: string) => {
    try {
      await post(`/api/spaces/${spaceId}/reactions`, { emoji });
      setStatus('');
    } catch (err) {
      setStatus(err instanceof ApiError && err.code === 'rate_limited'
        ? 'Too many reactions at once. Wait a moment.'
        : errorMessage(err));
      window.clearTimeout(clearTimer.current);
      clearTimer.current = window.setTimeout(() => setStatus(''), 4000);
    }
  };

  return (
    <section aria-labelledby="react-title" class="panel">
      <h2 id="react-title">React</h2>
      <div class="reaction-bar" role="group" aria-labelledby="react-title">
        {REACTIONS.map((r) => (
          <button key={r.emoji} type="button" class="reaction-button" aria-label={`React with ${r.name}`}
            title={r.name} disabled={disabled} onClick={() => void react(r.emoji)}>
            <span aria-hidden="true">{r.emoji}</span>
          </button>
        ))}
      </div>
      <p role="status" class="hint">{status}</p>
    </section>
  );
}

interface Floating { id: number; emoji: string; left: number; delay: number }
const LIFETIME_MS = 2600;
const MAX_PER_WINDOW = 20;

/** How long a reaction stays on its sender's avatar (as on Spaces). */
const ON_AVATAR_MS = 2500;

/**
 * The layer of floating emoji and each sender's latest emoji on their avatar; feed it every
 * `reactions` message through `push`.
 */
export function useReactionLayer() {
  const [items, setItems] = useState<Floating[]>([]);
  const [byUser, setByUser] = useState<ReadonlyMap<number, string>>(new Map());
  const nextId = useRef(1);
  const avatarTimers = useRef(new Map<number, number>());
  useEffect(() => () => {
    for (const timer of avatarTimers.current.values()) window.clearTimeout(timer);
  }, []);

  const showOnAvatars = (event: ReactionsEvent) => {
    if (event.by.length === 0) return;
    setByUser((current) => {
      const next = new Map(current);
      for (const { user_id: userId, emoji } of event.by) next.set(userId, emoji);
      return next;
    });
    for (const { user_id: userId } of event.by) {
      window.clearTimeout(avatarTimers.current.get(userId));
      avatarTimers.current.set(userId, window.setTimeout(() => {
        avatarTimers.current.delete(userId);
        setByUser((current) => {
          if (!current.has(userId)) return current;
          const next = new Map(current);
          next.delete(userId);
          return next;
        });
      }, ON_AVATAR_MS));
    }
  };

  const push = (event: ReactionsEvent) => {
    showOnAvatars(event);
    let emojis = event.by.map((b) => b.emoji);
    if (emojis.length === 0) {
      for (const [emoji, n] of Object.entries(event.counts)) {
        for (let i = 0; i < Math.min(n, 5); i++) emojis.push(emoji);
      }
    }
    emojis = emojis.slice(0, MAX_PER_WINDOW);
    const added = emojis.map((emoji, i) => ({
      id: nextId.current++,
      emoji,
      left: 5 + Math.random() * 85,
      delay: i * 60,
    }));
    setItems((list) => [...list, ...added].slice(-60));
    const ids = new Set(added.map((a) => a.id));
    window.setTimeout(() => setItems((list) => list.filter((f) => !ids.has(f.id))), LIFETIME_MS + added.length * 60);
  };

  const layer = (
    <div class="reaction-layer" data-testid="reactions" aria-hidden="true">
      {items.map((f) => (
        <span key={f.id} class="floating-emoji" data-testid="reaction" data-emoji={f.emoji}
          style={{ left: `${f.left}%`, animationDelay: `${f.delay}ms` }}>
          {f.emoji}
        </span>
      ))}
    </div>
  );
  return { push, layer, byUser };
}
