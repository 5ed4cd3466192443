import { useEffect, useState } from 'preact/hooks';
import { errorMessage, get } from '../api';
import { formatWhen, plural } from '../format';
import { actionLabel } from '../moderationRules';
import { reminderCountWords } from '../notifyRules';
import type { AuditEntry, Space, SpacePage } from '../types';
import { AddToCalendar, ReminderToggle } from './Reminder';
import { CohostPicker, EditScheduled, InvitePeople } from './ScheduledTools';
import { CaptionSettings } from './Captions';
import { ConfirmButton } from './ConfirmButton';

/**
 * A space that has not started: when it will; "Remind me", the calendar and sharing for
 * everyone; for the host, starting, canceling, editing it, naming co-hosts and inviting.
 */
export function ScheduledPanel({ space, page, isHost, onStart, onCancel, onShare, onEdited }: {
  space: Space; page: SpacePage | null; isHost: boolean; onStart: () => void; onCancel: () => void;
  onShare: () => void; onEdited: (space: Space) => void;
}) {
  return (
    <section aria-labelledby="when-title" class="panel">
      <h2 id="when-title">Not started yet</h2>
      <p>This space starts {formatWhen(space.scheduled_for)}.</p>
      <div class="actions scheduled-actions">
        {!isHost && <ReminderToggle spaceId={space.id} reminded={page?.reminded} count={page?.reminders} />}
        <AddToCalendar spaceId={space.id} />
        <button type="button" class="secondary" data-testid="share-open" onClick={onShare}>Share</button>
      </div>
      {isHost && typeof page?.reminders === 'number' && (
        <p class="reminder-summary" data-testid="reminder-count">{reminderCountWords(page.reminders)}</p>
      )}
      {isHost && (
        <div class="actions">
          <button type="button" onClick={onStart}>Start space</button>
          <ConfirmButton label="Cancel space" question="Cancel this space for everyone?"
            confirmLabel="Yes, cancel space" keepLabel="Keep it" onConfirm={onCancel} />
        </div>
      )}
      {isHost && <EditScheduled key={`${space.title}|${space.scheduled_for}|${space.topics.join(',')}`} space={space} onSaved={onEdited} />}
      {isHost && <CohostPicker spaceId={space.id}
        initial={page?.cohosts ?? page?.stage.filter((m) => m.role === 'cohost').map((m) => m.user)} />}
      {isHost && (
        <>
          <h3>Invite</h3>
          <InvitePeople spaceId={space.id} />
        </>
      )}
      {isHost && (
        <>
          <h3>Captions</h3>
          <CaptionSettings space={space} announceChanges />
        </>
      )}
    </section>
  );
}

/** The host's tools while the space is live: ending it for everyone. */
export function HostTools({ stageCount, onEnd }: { stageCount: number; onEnd: () => void }) {
  return (
    <section aria-labelledby="host-title" class="panel">
      <h2 id="host-title">Host tools</h2>
      <p class="hint">{plural(stageCount, 'person', 'people')} on stage. Ending the space stops it for everyone.</p>
      <ConfirmButton label="End space" question="End this space for everyone?"
        confirmLabel="Yes, end space" keepLabel="Keep it going" onConfirm={onEnd} />
    </section>
  );
}

/**
 * The space's moderation log for its host and co-hosts (GET /api/spaces/{id}/audit): who muted,
 * moved down or removed whom, pins removed, and what the instance's moderators did here.
 */
export function ModerationLog({ spaceId }: { spaceId: number }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    setError(null);
    get<{ entries: AuditEntry[] }>(`/api/spaces/${spaceId}/audit`).then(
      (body) => { if (current) setEntries(body.entries); },
      (err: unknown) => { if (current) setError(errorMessage(err)); },
    );
    return () => { current = false; };
  }, [spaceId, attempt]);
  if (error) {
    return (
      <div class="search-problem">
        <p class="field-error">{error}</p>
        <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
      </div>
    );
  }
  if (!entries) return <p class="loading">Loading the log…</p>;
  if (entries.length === 0) return <p class="hint" data-testid="moderation-log-empty">Nothing moderated in this space yet.</p>;
  return (
    <ol class="audit-list" data-testid="moderation-log" aria-label="Moderation log, newest first">
      {entries.map((e) => (
        <li key={e.id}>
          <p class="audit-what">
            <strong>{actionLabel(e.action)}</strong>
            {e.target_handle && <> · <a href={`/u/${e.target_handle}`}>@{e.target_handle}</a></>}
          </p>
          <p class="meta">
            {e.actor_handle ? `@${e.actor_handle}` : 'The server'} ({e.actor_role}) · {formatWhen(e.created_at)}
          </p>
          {e.reason && <p class="audit-reason">{e.reason}</p>}
        </li>
      ))}
    </ol>
  );
}
