// A scheduled space: "Remind me" (PUT/DELETE /api/spaces/{id}/reminder), how many asked (for
// its hosts), "Add to calendar" (its .ics), and on a profile "Subscribe to calendar" (webcal).
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { useApp } from '../context';
import { routeMissing, useHasEndpoint } from '../features';
import { reminderCountWords, webcalUrl } from '../notifyRules';

export function ReminderToggle({ spaceId, reminded, count, compact = false }: {
  spaceId: number;
  /** undefined: the server does not say (no reminders there): nothing is shown. */
  reminded: boolean | undefined;
  /** For the host and co-hosts: how many asked; null/undefined for others. */
  count?: number | null;
  compact?: boolean;
}) {
  const { user, announce } = useApp();
  const [on, setOn] = useState(!!reminded);
  const [busy, setBusy] = useState(false);
  const [gone, setGone] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  if (!user && !compact && reminded !== undefined) {
    const next = encodeURIComponent(`/s/${spaceId}`);
    return <p class="hint"><a href={`/signin?next=${next}`}>Sign in</a> to be reminded when it starts.</p>;
  }
  if (reminded === undefined || gone || !user) {
    return typeof count === 'number' ? <p class="hint" data-testid="reminder-count">{reminderCountWords(count)}</p> : null;
  }
  const toggle = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await api(on ? 'DELETE' : 'PUT', `/api/spaces/${spaceId}/reminder`);
      announce(on ? 'Reminder removed' : 'Reminder set: you’ll be told when it starts');
      setOn(!on);
    } catch (err) {
      if (routeMissing(err)) setGone(true);
      else setProblem(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class={`reminder${compact ? ' reminder-compact' : ''}`}>
      <button type="button" class={`${on ? 'secondary' : ''}${compact ? ' small' : ''}`} aria-pressed={on} disabled={busy}
        data-testid="reminder-toggle" data-reminded={on ? 'true' : 'false'} onClick={() => void toggle()}>
        <span aria-hidden="true">{on ? '✓ ' : '🔔 '}</span>{on ? 'Reminder set' : 'Remind me'}
      </button>
      {!compact && (
        <span class="hint">{on ? 'You’ll be told when it starts. Press again to cancel.' : 'Get told when it starts.'}</span>
      )}
      {typeof count === 'number' && <p class="hint" data-testid="reminder-count">{reminderCountWords(count)}</p>}
      {problem && <p class="field-error" role="alert">{problem}</p>}
    </div>
  );
}

/** The space's .ics, once the server has it. */
export function AddToCalendar({ spaceId }: { spaceId: number }) {
  const path = `/api/spaces/${spaceId}/calendar.ics`;
  const has = useHasEndpoint(path);
  if (!has) return null;
  return (
    <a class="button secondary" href={path} download={`space-${spaceId}.ics`} data-testid="add-to-calendar">
      Add to calendar
    </a>
  );
}

function timeZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

/** A person's upcoming spaces as a calendar feed the calendar app keeps current. */
export function SubscribeCalendar({ handle }: { handle: string }) {
  const has = useHasEndpoint(`/api/users/${encodeURIComponent(handle)}/calendar.ics`);
  if (!has) return null;
  return (
    <a class="button secondary small" href={webcalUrl(location.host, handle, timeZone())} data-testid="subscribe-calendar">
      Subscribe to calendar
    </a>
  );
}
