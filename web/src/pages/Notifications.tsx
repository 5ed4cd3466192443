// The bell's list (/notifications): what the user was told, newest first, each with who, when
// and where it leads. What was unread is marked read once shown, and stays marked "New" until
// the page is left. New ones arrive over the user's socket while the page is open.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { Avatar } from '../components/Avatar';
import { loadBell, markBellRead, useBell } from '../bell';
import { useApp } from '../context';
import { formatWhen } from '../format';
import { usePageTitle } from '../hooks';
import { kindName, safeLink, timeAgo, unreadIdsOf } from '../notifyRules';
import type { AppNotification } from '../types';
import { SignInPrompt } from './NotFound';

function NotificationItem({ n, fresh, now }: { n: AppNotification; fresh: boolean; now: number }) {
  const link = safeLink(n.link);
  const body = (
    <>
      <p class="notification-text">{n.text}</p>
      <p class="meta">
        {kindName(n.kind)} · <time dateTime={n.created_at} title={formatWhen(n.created_at)}>{timeAgo(n.created_at, now)}</time>
        {fresh && <span class="badge new-badge">New</span>}
      </p>
    </>
  );
  return (
    <li class={`notification${fresh ? ' is-new' : ''}`} data-testid="notification" data-kind={n.kind}
      data-notification-id={n.id}>
      {n.actor ? <Avatar user={n.actor} size="sm" /> : <span class="avatar avatar-sm notification-dot" aria-hidden="true">•</span>}
      <div class="notification-body">
        {/* A space opened from here came from a notification (the host's analytics). */}
        {link ? <a href={link} class="notification-link" data-via="notification">{body}</a> : body}
      </div>
    </li>
  );
}

export function NotificationsPage() {
  const { user } = useApp();
  usePageTitle('Notifications');
  const bell = useBell();
  const [problem, setProblem] = useState<string | null>(null);
  const [signin, setSignin] = useState(false);
  const [attempt, setAttempt] = useState(0);
  // What was unread when shown stays "New" while the page is open.
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [now, setNow] = useState(Date.now());
  const marking = useRef(false);

  useEffect(() => {
    if (!user) return;
    setProblem(null);
    loadBell().catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 401) setSignin(true);
      else setProblem(errorMessage(err));
    });
  }, [user, attempt]);

  // Shown is read: mark what is unread (again as more arrive while the page is open).
  useEffect(() => {
    if (!bell.loaded || marking.current) return;
    const ids = unreadIdsOf(bell.items);
    if (ids.length === 0) return;
    setFresh((before) => new Set([...before, ...ids]));
    marking.current = true;
    markBellRead(ids)
      .then(() => setProblem(null), (err: unknown) => setProblem(errorMessage(err)))
      .finally(() => { marking.current = false; });
  }, [bell]);

  // "5 min ago" moves on while the page is open.
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => window.clearInterval(timer);
  }, []);

  if (user === null || signin) {
    return (
      <section aria-labelledby="notifications-title">
        <h1 id="notifications-title">Notifications</h1>
        <SignInPrompt what="to see your notifications" />
      </section>
    );
  }
  return (
    <section aria-labelledby="notifications-title" class="notifications-page">
      <div class="page-head">
        <h1 id="notifications-title">Notifications</h1>
        <a href="/settings/notifications" class="button secondary small" data-testid="notification-settings-link">Settings</a>
      </div>
      {problem && (
        <div>
          <p class="field-error" role="alert">{problem}</p>
          <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
        </div>
      )}
      {!bell.loaded && !problem && <p class="loading">Loading…</p>}
      {bell.loaded && bell.items.length === 0 && (
        <p class="meta" data-testid="notifications-empty">
          Nothing yet. You hear here when people you follow go live, spaces you asked about start,
          and someone invites you, messages you or follows you.
        </p>
      )}
      {bell.items.length > 0 && (
        <ul class="notification-list" data-testid="notifications">
          {bell.items.map((n) => <NotificationItem key={n.id} n={n} fresh={fresh.has(n.id)} now={now} />)}
        </ul>
      )}
      <p class="hint">Reports and moderators’ warnings are under <a href="/notices">Notices</a>.</p>
    </section>
  );
}
