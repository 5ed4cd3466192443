import { useEffect, useState } from 'preact/hooks';
import { get, errorMessage } from '../api';
import type { Member } from '../types';
import { Avatar } from './Avatar';

const PAGE = 50;

interface ListenersProps {
  spaceId: number;
  listenerCount: number;
  canModerate: boolean;
  myId: number;
  /** Members with a pending request or invitation, to show their state. */
  pending: Map<number, Member>;
  act: (path: string, done?: string) => Promise<void>;
}

export function ListenersPanel({ spaceId, listenerCount, canModerate, myId, pending, act }: ListenersProps) {
  const [open, setOpen] = useState(false);
  const [listeners, setListeners] = useState<Member[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (offset: number) => {
    setLoading(true);
    try {
      const body = await get<{ listeners: Member[]; total: number }>(
        `/api/spaces/${spaceId}/listeners?offset=${offset}&limit=${PAGE}`);
      setListeners((list) => (offset === 0 ? body.listeners : [...list, ...body.listeners]));
      setTotal(body.total);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    if (open) void load(0);
    // Reload when the audience changes size while the panel is open.
  }, [open, listenerCount]);

  return (
    <section aria-labelledby="listeners-title" class="panel">
      <div class="panel-head">
        <h2 id="listeners-title">Listeners</h2>
        <button type="button" class="secondary small" aria-expanded={open} aria-controls="listeners-body"
          onClick={() => setOpen(!open)}>
          {open ? 'Hide listeners' : 'Show listeners'}
        </button>
      </div>
      <div id="listeners-body" hidden={!open}>
        {open && (
          <>
            {error && <p class="field-error">{error}</p>}
            {loading && listeners.length === 0 && <p class="loading">Loading…</p>}
            {!loading && !error && listeners.length === 0 && <p class="hint">No listeners yet.</p>}
            <ul class="people" data-testid="listeners">
              {listeners.map((m) => {
                const state = pending.get(m.user.id)?.stage_request ?? m.stage_request;
                return (
                  <li key={m.user.id} class="person" data-testid="listener" data-user-handle={m.user.handle}>
                    <Avatar user={m.user} size="sm" />
                    <span class="person-name">
                      <a href={`/u/${m.user.handle}`}>{m.user.display_name}</a>
                      <span class="handle"> @{m.user.handle}</span>
                      {state === 'requested' && <span class="badge">Asked to speak</span>}
                      {state === 'invited' && <span class="badge">Invited</span>}
                    </span>
                    {canModerate && m.user.id !== myId && (
                      <span class="controls">
                        {state === 'none' && (
                          <button type="button" class="small" aria-label={`Invite to speak: ${m.user.display_name}`}
                            onClick={() => void act(`members/${m.user.id}/invite`, `Invited ${m.user.display_name} to speak`)}>
                            Invite to speak
                          </button>
                        )}
                        <button type="button" class="danger-outline small" onClick={() => void act(`members/${m.user.id}/remove`)}>
                          Remove<span class="sr-only"> {m.user.display_name}</span>
                        </button>
                      </span>
                    )}
                  </li>
                );
              })}
            </ul>
            <div class="actions">
              <button type="button" class="secondary small" onClick={() => void load(0)}>Refresh list</button>
              {listeners.length < total && (
                <button type="button" class="secondary small" onClick={() => void load(listeners.length)}>Show more</button>
              )}
            </div>
          </>
        )}
      </div>
    </section>
  );
}
