// The signed-in user's notices (a report's receipt and outcome, a moderator's warning), marked read
// once shown, and the reports they filed with where each stands.
import { useEffect, useState } from 'preact/hooks';
import { errorMessage, markNoticesRead } from '../api';
import { useApp } from '../context';
import { formatWhen } from '../format';
import { useLoaded, usePageTitle } from '../hooks';
import { myReportState, reasonLabel, unreadIds } from '../moderationRules';
import { refreshUnread, setUnread } from '../notices';
import type { MyReport, Notice } from '../types';
import { SignInPrompt } from './NotFound';

const KIND_LABEL: Record<string, string> = {
  report_received: 'Report received',
  report_outcome: 'Report reviewed',
  warning: 'Warning',
};

function noticeLabel(kind: string): string {
  return KIND_LABEL[kind] ?? reasonLabel(kind);
}

function MyReports({ who }: { who: unknown }) {
  const [loaded, retry] = useLoaded<{ reports: MyReport[] }>('/api/reports/mine', who);
  if (loaded.kind === 'loading') return <p class="loading">Loading…</p>;
  if (loaded.kind !== 'ready') {
    return (
      <div>
        <p class="field-error">{loaded.kind === 'error' ? loaded.message : 'Could not load your reports.'}</p>
        <button type="button" class="secondary small" onClick={retry}>Try again</button>
      </div>
    );
  }
  const reports = loaded.value.reports;
  if (reports.length === 0) return <p class="meta">You have not reported anything.</p>;
  return (
    <ul class="notice-list" data-testid="my-reports">
      {reports.map((r) => (
        <li key={r.id} class="notice">
          <p class="notice-text">
            <strong>{reasonLabel(r.reason)}</strong>
            {' · '}
            {r.kind === 'space' ? 'a space' : r.target ? `@${r.target.handle}` : 'an account'}
            {r.kind === 'moment' && ' (what they said)'}
          </p>
          <p class="meta">Filed {formatWhen(r.created_at)} · <span data-testid="my-report-state">{myReportState(r.state)}</span></p>
        </li>
      ))}
    </ul>
  );
}

export function NoticesPage() {
  const { user } = useApp();
  usePageTitle('Notices');
  const [loaded, retry] = useLoaded<{ notices: Notice[]; unread: number }>('/api/me/notices', user);
  // What was unread when the page showed it stays marked "New" until the page is left.
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [markError, setMarkError] = useState<string | null>(null);

  useEffect(() => {
    if (loaded.kind !== 'ready') return;
    const ids = unreadIds(loaded.value.notices);
    setFresh(new Set(ids));
    if (ids.length === 0) {
      setUnread(loaded.value.unread);
      return;
    }
    markNoticesRead(ids).then(
      () => { setMarkError(null); void refreshUnread(); },
      (err: unknown) => setMarkError(errorMessage(err)),
    );
  }, [loaded]);

  if (user === null || loaded.kind === 'signin') {
    return (
      <section aria-labelledby="notices-title">
        <h1 id="notices-title">Notices</h1>
        <SignInPrompt what="to see your notices" />
      </section>
    );
  }
  return (
    <div class="notices-page">
      <section aria-labelledby="notices-title">
        <h1 id="notices-title">Notices</h1>
        <p class="hint">What the moderators tell you: the reports you filed, and any warning about your account.</p>
        {loaded.kind === 'loading' && <p class="loading">Loading…</p>}
        {(loaded.kind === 'error' || loaded.kind === 'missing') && (
          <div>
            <p class="field-error">{loaded.kind === 'error' ? loaded.message : 'Could not load your notices.'}</p>
            <button type="button" class="secondary small" onClick={retry}>Try again</button>
          </div>
        )}
        {markError && <p class="field-error" role="alert">{markError}</p>}
        {loaded.kind === 'ready' && loaded.value.notices.length === 0 && (
          <p class="meta" data-testid="notices-empty">No notices yet.</p>
        )}
        {loaded.kind === 'ready' && loaded.value.notices.length > 0 && (
          <ul class="notice-list" data-testid="notices">
            {loaded.value.notices.map((n) => (
              <li key={n.id} class={`notice notice-${n.kind}${fresh.has(n.id) ? ' is-new' : ''}`} data-testid="notice">
                <p class="notice-head">
                  <strong>{noticeLabel(n.kind)}</strong>
                  {fresh.has(n.id) && <span class="badge new-badge">New</span>}
                  <span class="meta"> · {formatWhen(n.created_at)}</span>
                </p>
                <p class="notice-text">{n.text}</p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="my-reports-title">
        <h2 id="my-reports-title">Your reports</h2>
        <MyReports who={user} />
      </section>
    </div>
  );
}
