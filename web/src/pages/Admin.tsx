// The admin desk for the instance's moderators and admins: the queue of reports (oldest first)
// with their evidence and the decisions, accounts waiting for approval and invite codes (admins),
// and the audit log (admins). The server checks every action again (docs/api.md).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, decideReport, errorMessage, get, post, reportReasons } from '../api';
import { Avatar } from '../components/Avatar';
import { ConfirmButton } from '../components/ConfirmButton';
import { useApp } from '../context';
import { formatClock, formatWhen, plural } from '../format';
import { splitErrors, type FieldErrors } from '../forms';
import { useLoaded, usePageTitle } from '../hooks';
import {
  actionLabel,
  adminHref,
  confirmQuestion,
  decisionBody,
  decisionInfo,
  decisionsFor,
  MODERATOR_MAX_DAYS,
  queuePath,
  reasonLabel,
  sanctionText,
  type DecisionBody,
  type DecisionForm,
} from '../moderationRules';
import { navigate, type AdminTab, type Route } from '../router';
import type { Account, AuditEntry, Decision, InstanceRole, Invite, Report, UserBrief } from '../types';
import { SignInPrompt } from './NotFound';

type AdminRoute = Extract<Route, { name: 'admin' }>;

const TABS: { tab: AdminTab; label: string; adminOnly: boolean }[] = [
  { tab: 'reports', label: 'Reports', adminOnly: false },
  { tab: 'accounts', label: 'Accounts and invites', adminOnly: true },
  { tab: 'audit', label: 'Audit log', adminOnly: true },
];

function Who({ user }: { user: UserBrief | null }) {
  if (!user) return <span class="meta">a deleted account</span>;
  return <a href={`/u/${user.handle}`}>{user.display_name} <span class="handle">@{user.handle}</span></a>;
}

// --- reports -------------------------------------------------------------------------------------

function Evidence({ report }: { report: Report }) {
  const e = report.evidence;
  const prefix = `r${report.id}`;
  return (
    <div class="evidence">
      <h3 id={`${prefix}-evidence`}>Evidence</h3>
      {(e.space_title || report.space_id) && (
        <p>
          Space: {report.space_id ? <a href={`/s/${report.space_id}`}>{e.space_title ?? `#${report.space_id}`}</a> : e.space_title}
          {e.space_state && <span class="meta"> ({e.space_state})</span>}
          {e.host_handle && <> · hosted by <a href={`/u/${e.host_handle}`}>@{e.host_handle}</a></>}
          {e.member_role && <> · the reported user was {e.member_role === 'cohost' ? 'a co-host' : `the ${e.member_role}`}</>}
        </p>
      )}
      {report.moment_s !== null && <p>Moment: {formatClock(report.moment_s)} into the recording.</p>}
      {e.audio_url ? (
        <div class="evidence-audio">
          <p class="hint" id={`${prefix}-audio-hint`}>
            The recording kept with the report
            {e.audio_start_s !== null && e.audio_duration_s !== null
              && <> ({formatClock(e.audio_start_s)} to {formatClock(e.audio_start_s + e.audio_duration_s)})</>}
            . It is deleted once the report is decided.
          </p>
          <audio controls preload="none" src={e.audio_url} class="clip-audio" data-testid="evidence-audio"
            aria-label={`Recording kept with report ${report.id}`} aria-describedby={`${prefix}-audio-hint`} />
        </div>
      ) : report.kind === 'moment' && <p class="hint">No recording was kept (nothing was recorded then, or the report is closed).</p>}
      {e.captions.length > 0 && (
        <>
          <h4>Captions</h4>
          <ol class="evidence-captions" data-testid="evidence-captions">
            {e.captions.map((line, i) => (
              <li key={i}>
                <span class="transcript-time">{formatClock(line.start_s)}</span>
                <span><strong>@{line.speaker}</strong>: {line.text ?? <em class="meta">(speech; this speaker turned captions off)</em>}</span>
              </li>
            ))}
          </ol>
        </>
      )}
      {report.target && (
        <>
          <h4>History of @{report.target.handle}</h4>
          <p data-testid="earlier-reports">
            {e.earlier_reports === 0 ? 'No earlier reports.' : `${plural(e.earlier_reports, 'earlier report', 'earlier reports')}.`}
          </p>
          {e.history.length === 0 ? <p class="meta">No sanctions.</p> : (
            <ul class="history" data-testid="history">
              {e.history.map((s) => <li key={s.id}>{sanctionText(s)}</li>)}
            </ul>
          )}
        </>
      )}
    </div>
  );
}

const EMPTY_FORM: DecisionForm = { decision: 'dismiss', reason: '', message: '', days: '7', forGood: false, pinId: '', clipId: '' };

function DecisionPanel({ report, role, onDecided }: { report: Report; role: InstanceRole; onDecided: (r: Report) => void }) {
  const { announce } = useApp();
  const [form, setForm] = useState<DecisionForm>(EMPTY_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [asking, setAsking] = useState<{ body: DecisionBody; question: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const p = `r${report.id}`;
  const id = (field: string) => `${p}-${field}`;
  const who = report.target ? `@${report.target.handle}` : null;
  const choices = decisionsFor(report);
  const info = decisionInfo(form.decision);
  const set = (change: Partial<DecisionForm>) => {
    setForm((f) => ({ ...f, ...change }));
    setAsking(null);
  };

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);

  const focusFirst = (found: FieldErrors) => {
    const first = Object.keys(found)[0];
    if (first) requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>(`#${id(first)}`)?.focus());
  };

  const send = async (body: DecisionBody) => {
    setBusy(true);
    setFormError(null);
    try {
      const answer = await decideReport<{ report: Report }>(report.id, body);
      announce(`Report ${report.id}: ${actionLabel(body.decision)} done`);
      onDecided(answer.report);
    } catch (err) {
      const { fieldErrors, formError: other } = splitErrors(err, ['reason', 'message', 'days', 'pin_id', 'clip_id']);
      setErrors(fieldErrors);
      setFormError(other);
      focusFirst(fieldErrors);
    } finally {
      setBusy(false);
      setAsking(null);
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const checked = decisionBody(form, role);
    if (!checked.ok) {
      setErrors(checked.errors);
      focusFirst(checked.errors);
      return;
    }
    setErrors({});
    const question = confirmQuestion(checked.body, who);
    if (question) setAsking({ body: checked.body, question });
    else void send(checked.body);
  };

  const described = (field: string, hint?: boolean) => [hint ? id(`${field}-hint`) : '', errors[field] ? id(`${field}-error`) : '']
    .filter(Boolean).join(' ') || undefined;
  const error = (field: string) => errors[field] && <p class="field-error" id={id(`${field}-error`)}>{errors[field]}</p>;

  return (
    <form ref={formRef} class="decision-form" onSubmit={submit} noValidate aria-labelledby={id('decide')}>
      <h3 id={id('decide')}>Decide</h3>
      <fieldset>
        <legend>Decision</legend>
        <div class="decision-choices">
          {choices.map((d) => (
            <div class="radio" key={d.decision}>
              <input type="radio" name={id('decision')} id={id(`d-${d.decision}`)} value={d.decision}
                checked={form.decision === d.decision} onChange={() => set({ decision: d.decision as Decision })} />
              <label for={id(`d-${d.decision}`)}>{d.label}</label>
            </div>
          ))}
        </div>
      </fieldset>
      {form.decision === 'warn' && (
        <div class={`field${errors.message ? ' field-invalid' : ''}`}>
          <label for={id('message')}>Warning to {who ?? 'the user'}</label>
          <textarea id={id('message')} rows={3} value={form.message} maxLength={4000}
            aria-describedby={described('message', true)} aria-invalid={errors.message ? true : undefined}
            onInput={(e) => set({ message: e.currentTarget.value })} />
          <p class="hint" id={id('message-hint')}>They read this in their notices.</p>
          {error('message')}
        </div>
      )}
      {info.timed && (
        <div class={`field${errors.days ? ' field-invalid' : ''}`}>
          <label for={id('days')}>For how many days</label>
          <input type="text" inputMode="decimal" id={id('days')} value={form.days} disabled={form.forGood} class="days-input"
            aria-describedby={described('days', true)} aria-invalid={errors.days ? true : undefined}
            onInput={(e) => set({ days: e.currentTarget.value })} />
          <p class="hint" id={id('days-hint')}>
            {role === 'admin' ? 'Or for good:' : `A moderator decides up to ${MODERATOR_MAX_DAYS} days; only an admin decides for good.`}
          </p>
          {role === 'admin' && (
            <div class="checkbox">
              <input type="checkbox" id={id('forgood')} checked={form.forGood}
                onChange={(e) => set({ forGood: e.currentTarget.checked })} />
              <label for={id('forgood')}>For good</label>
            </div>
          )}
          {error('days')}
        </div>
      )}
      {form.decision === 'remove_pin' && (
        <div class={`field${errors.pin_id ? ' field-invalid' : ''}`}>
          <label for={id('pin_id')}>Pin number</label>
          <input type="text" inputMode="numeric" id={id('pin_id')} value={form.pinId} class="days-input"
            aria-describedby={described('pin_id')} aria-invalid={errors.pin_id ? true : undefined}
            onInput={(e) => set({ pinId: e.currentTarget.value })} />
          {error('pin_id')}
        </div>
      )}
      {form.decision === 'remove_clip' && (
        <div class={`field${errors.clip_id ? ' field-invalid' : ''}`}>
          <label for={id('clip_id')}>Clip id or link</label>
          <input type="text" id={id('clip_id')} value={form.clipId} autoComplete="off" spellcheck={false}
            aria-describedby={described('clip_id')} aria-invalid={errors.clip_id ? true : undefined}
            onInput={(e) => set({ clipId: e.currentTarget.value })} />
          {error('clip_id')}
        </div>
      )}
      <div class={`field${errors.reason ? ' field-invalid' : ''}`}>
        <label for={id('reason')}>Reason <span class="optional">(for the audit log)</span></label>
        <textarea id={id('reason')} rows={2} value={form.reason} maxLength={500}
          aria-describedby={described('reason')} aria-invalid={errors.reason ? true : undefined}
          onInput={(e) => set({ reason: e.currentTarget.value })} />
        {error('reason')}
      </div>
      {formError && <p class="field-error" role="alert" data-testid="decision-error">{formError}</p>}
      {asking ? (
        <div class="confirm" role="group" aria-label={asking.question}>
          <p>{asking.question}</p>
          <div class="actions">
            <button type="button" ref={confirmRef} class="danger" disabled={busy} onClick={() => void send(asking.body)}>
              Yes, {info.label.charAt(0).toLowerCase() + info.label.slice(1)}
            </button>
            <button type="button" class="secondary" onClick={() => setAsking(null)}>Go back</button>
          </div>
        </div>
      ) : (
        <div class="actions">
          <button type="submit" class={info.severe ? 'danger' : undefined} disabled={busy}>
            {busy ? 'Applying…' : info.label.replace(/:.*$/, '')}
          </button>
        </div>
      )}
    </form>
  );
}

function ReportCard({ report, role, onDecided }: { report: Report; role: InstanceRole; onDecided: (r: Report) => void }) {
  const titleId = `r${report.id}-title`;
  const what = report.kind === 'space' ? 'a space' : report.kind === 'moment' ? 'what was said' : 'an account';
  return (
    <li>
      <article class="card report-card" aria-labelledby={titleId} data-testid="report" data-report-id={report.id}>
        <header class="report-head">
          {report.target && <Avatar user={report.target} size="sm" />}
          <h2 id={titleId}>
            {reasonLabel(report.reason)}
            <span class="report-about">: {report.target ? `@${report.target.handle}` : `space #${report.space_id ?? '?'}`}</span>
          </h2>
          <span class={`badge state-${report.state}`}>{report.state === 'open' ? 'Open' : reasonLabel(report.state)}</span>
        </header>
        <dl class="facts">
          <div><dt>Report</dt><dd>#{report.id}, of {what}</dd></div>
          <div><dt>Filed</dt><dd>{formatWhen(report.created_at)}</dd></div>
          <div><dt>By</dt><dd><Who user={report.reporter} /></dd></div>
          {report.target && <div><dt>About</dt><dd><Who user={report.target} /></dd></div>}
        </dl>
        {report.note ? <blockquote class="report-note">{report.note}</blockquote> : <p class="meta">No note.</p>}
        <Evidence report={report} />
        {report.state === 'open' ? (
          <DecisionPanel report={report} role={role} onDecided={onDecided} />
        ) : (
          <p class="meta" data-testid="report-closed">
            Decided{report.outcome && <>: {actionLabel(report.outcome)}</>}
            {report.closed_at && <> · {formatWhen(report.closed_at)}</>}
          </p>
        )}
      </article>
    </li>
  );
}

function ReportsTab({ route, role }: { route: AdminRoute; role: InstanceRole }) {
  const { user } = useApp();
  const [reasons, setReasons] = useState<string[]>([]);
  const [filters, setFilters] = useState({ state: route.state || 'open', kind: route.kind, reason: route.reason });
  useEffect(() => { reportReasons().then(setReasons, () => undefined); }, []);
  useEffect(() => setFilters({ state: route.state || 'open', kind: route.kind, reason: route.reason }),
    [route.state, route.kind, route.reason]);
  const path = queuePath(route);
  const [loaded, reload] = useLoaded<{ reports: Report[] }>(path, user);
  // Decided here: shown closed until the queue is read again.
  const [decided, setDecided] = useState<Map<number, Report>>(new Map());
  useEffect(() => setDecided(new Map()), [loaded]);

  const apply = (event: Event) => {
    event.preventDefault();
    navigate(adminHref('reports', filters));
  };
  const state = route.state || 'open';
  return (
    <section aria-labelledby="queue-title">
      <h2 id="queue-title" class="sr-only">Reports</h2>
      <form class="filters" onSubmit={apply} aria-label="Filter reports">
        <div class="field">
          <label for="f-state">State</label>
          <select id="f-state" value={filters.state} onChange={(e) => setFilters({ ...filters, state: e.currentTarget.value })}>
            <option value="open">Open</option>
            <option value="actioned">Actioned</option>
            <option value="dismissed">Dismissed</option>
          </select>
        </div>
        <div class="field">
          <label for="f-kind">Kind</label>
          <select id="f-kind" value={filters.kind} onChange={(e) => setFilters({ ...filters, kind: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="user">Account</option>
            <option value="space">Space</option>
            <option value="moment">Moment</option>
          </select>
        </div>
        <div class="field">
          <label for="f-reason">Reason</label>
          <select id="f-reason" value={filters.reason} onChange={(e) => setFilters({ ...filters, reason: e.currentTarget.value })}>
            <option value="">Any</option>
            {reasons.map((r) => <option key={r} value={r}>{reasonLabel(r)}</option>)}
          </select>
        </div>
        <button type="submit" class="secondary">Show</button>
      </form>
      {loaded.kind === 'loading' && <p class="loading">Loading reports…</p>}
      {(loaded.kind === 'error' || loaded.kind === 'missing' || loaded.kind === 'signin') && (
        <div>
          <p class="field-error">{loaded.kind === 'error' ? loaded.message : 'Could not load the reports.'}</p>
          <button type="button" class="secondary small" onClick={reload}>Try again</button>
        </div>
      )}
      {loaded.kind === 'ready' && (
        <>
          <p class="meta" data-testid="queue-summary">
            {loaded.value.reports.length === 0
              ? `No ${state} reports${route.kind || route.reason ? ' match these filters' : ''}.`
              : `${plural(loaded.value.reports.length, `${state} report`, `${state} reports`)}, oldest first.`}
          </p>
          <ul class="report-list">
            {loaded.value.reports.map((r) => (
              <ReportCard key={r.id} report={decided.get(r.id) ?? r} role={role}
                onDecided={(next) => setDecided((m) => new Map(m).set(next.id, next))} />
            ))}
          </ul>
          {decided.size > 0 && (
            <button type="button" class="secondary" onClick={reload}>Refresh the queue</button>
          )}
        </>
      )}
    </section>
  );
}

// --- accounts and invites --------------------------------------------------------------------------

function PendingAccounts() {
  const { user, announce, showError } = useApp();
  const [loaded, reload] = useLoaded<{ accounts: Account[] }>('/api/admin/users?state=pending', user);
  const decide = async (account: Account, approve: boolean) => {
    showError(null);
    try {
      await post(`/api/admin/users/${account.user.id}/${approve ? 'approve' : 'reject'}`);
      announce(`${approve ? 'Approved' : 'Rejected'} @${account.user.handle}`);
      reload();
    } catch (err) {
      showError(errorMessage(err));
    }
  };
  return (
    <section aria-labelledby="pending-title" class="panel">
      <h2 id="pending-title">Waiting for approval</h2>
      {loaded.kind === 'loading' && <p class="loading">Loading…</p>}
      {loaded.kind === 'error' && <p class="field-error">{loaded.message}</p>}
      {loaded.kind === 'ready' && loaded.value.accounts.length === 0 && <p class="meta">Nobody is waiting.</p>}
      {loaded.kind === 'ready' && loaded.value.accounts.length > 0 && (
        <ul class="people" data-testid="pending-accounts">
          {loaded.value.accounts.map((a) => (
            <li key={a.user.id} class="person-row">
              <Avatar user={a.user} size="sm" />
              <div class="person-text person-name">
                <span class="person-link">{a.user.display_name}</span>
                <span class="handle">@{a.user.handle} · signed up {formatWhen(a.created_at)}</span>
              </div>
              <div class="actions">
                <button type="button" class="small" onClick={() => void decide(a, true)}>
                  Approve<span class="sr-only"> @{a.user.handle}</span>
                </button>
                <ConfirmButton label={`Reject @${a.user.handle}`} question={`Reject @${a.user.handle}? Their account is deleted.`}
                  confirmLabel="Yes, reject" keepLabel="Keep waiting" tone="danger-outline small"
                  onConfirm={() => void decide(a, false)} />
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function CopyCode({ code }: { code: string }) {
  const { announce } = useApp();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied(true);
      announce('Invite code copied');
    } catch {
      announce('Copy failed: select the code and copy it by hand');
    }
  };
  return (
    <button type="button" class="secondary small" onClick={() => void copy()}>
      {copied ? 'Copied' : 'Copy'}<span class="sr-only"> code {code}</span>
    </button>
  );
}

function Invites() {
  const { user, announce } = useApp();
  const [loaded, reload] = useLoaded<{ invites: Invite[]; signup_mode: string }>('/api/admin/invites', user);
  const [count, setCount] = useState('1');
  const [maxUses, setMaxUses] = useState('1');
  const [days, setDays] = useState('7');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const body: Record<string, number | null> = { count: Number(count), max_uses: Number(maxUses) };
      body.days = days.trim() ? Number(days) : null;
      const made = await api<{ invites: Invite[] }>('POST', '/api/admin/invites', body);
      announce(`${plural(made.invites.length, 'invite code', 'invite codes')} made`);
      reload();
    } catch (err) {
      const split = splitErrors(err, ['count', 'max_uses', 'days']);
      setErrors(split.fieldErrors);
      setFormError(split.formError);
    } finally {
      setBusy(false);
    }
  };
  const num = (fid: string, label: string, value: string, setter: (v: string) => void, hint?: string) => (
    <div class={`field${errors[fid] ? ' field-invalid' : ''}`}>
      <label for={`inv-${fid}`}>{label}</label>
      <input type="text" inputMode="numeric" id={`inv-${fid}`} value={value} class="days-input"
        aria-invalid={errors[fid] ? true : undefined}
        aria-describedby={[hint ? `inv-${fid}-hint` : '', errors[fid] ? `inv-${fid}-error` : ''].filter(Boolean).join(' ') || undefined}
        onInput={(e) => setter(e.currentTarget.value)} />
      {hint && <p class="hint" id={`inv-${fid}-hint`}>{hint}</p>}
      {errors[fid] && <p class="field-error" id={`inv-${fid}-error`}>{errors[fid]}</p>}
    </div>
  );
  return (
    <section aria-labelledby="invites-title" class="panel">
      <h2 id="invites-title">Invite codes</h2>
      {loaded.kind === 'ready' && (
        <p class="hint">Sign-up on this instance: <strong>{loaded.value.signup_mode}</strong>
          {loaded.value.signup_mode !== 'invite' && ' (codes are needed only in invite mode)'}.</p>
      )}
      <form class="filters" onSubmit={create} noValidate aria-label="Make invite codes">
        {num('count', 'How many codes', count, setCount)}
        {num('max_uses', 'Uses per code', maxUses, setMaxUses)}
        {num('days', 'Valid for (days)', days, setDays, 'Empty: no end.')}
        <button type="submit" disabled={busy}>Make codes</button>
      </form>
      {formError && <p class="field-error" role="alert">{formError}</p>}
      {loaded.kind === 'loading' && <p class="loading">Loading…</p>}
      {loaded.kind === 'error' && <p class="field-error">{loaded.message}</p>}
      {loaded.kind === 'ready' && loaded.value.invites.length === 0 && <p class="meta">No codes yet.</p>}
      {loaded.kind === 'ready' && loaded.value.invites.length > 0 && (
        <ul class="invite-list" data-testid="invites">
          {loaded.value.invites.map((i) => (
            <li key={i.code}>
              <code class="invite-code">{i.code}</code>
              <span class="meta">
                {i.uses}/{i.max_uses} used · {i.expires_at ? `until ${formatWhen(i.expires_at)}` : 'no end'}
              </span>
              <CopyCode code={i.code} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// --- audit log -----------------------------------------------------------------------------------

function AuditTab() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [state, setState] = useState<{ loading: boolean; error: string | null; more: boolean }>({ loading: true, error: null, more: false });
  const PAGE = 100;
  const load = async (before: number | null) => {
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const query = before === null ? `?limit=${PAGE}` : `?limit=${PAGE}&before_id=${before}`;
      const body = await get<{ entries: AuditEntry[] }>(`/api/admin/audit${query}`);
      setEntries((list) => (before === null ? body.entries : [...list, ...body.entries]));
      setState({ loading: false, error: null, more: body.entries.length === PAGE });
    } catch (err) {
      setState((s) => ({ ...s, loading: false, error: errorMessage(err) }));
    }
  };
  useEffect(() => { void load(null); }, []);
  const last = entries.length ? entries[entries.length - 1].id : null;
  return (
    <section aria-labelledby="audit-title">
      <div class="panel-head">
        <h2 id="audit-title">Audit log <span class="meta">(newest first)</span></h2>
        <a class="button secondary small" href="/api/admin/audit.csv" download data-testid="audit-csv">Export CSV</a>
      </div>
      {entries.length > 0 && (
        <div class="table-scroll" role="region" aria-labelledby="audit-title" tabIndex={0}>
          <table class="audit-table" data-testid="audit-table">
            <thead>
              <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">On</th><th scope="col">Reason</th></tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatWhen(e.created_at)}</td>
                  <td>{e.actor_handle ? <>@{e.actor_handle} <span class="meta">({e.actor_role})</span></> : reasonLabel(e.actor_role)}</td>
                  <td>{actionLabel(e.action)}</td>
                  <td>
                    {e.target_handle && <a href={`/u/${e.target_handle}`}>@{e.target_handle}</a>}
                    {e.space_id !== null && <> <a href={`/s/${e.space_id}`}>space #{e.space_id}</a></>}
                    {e.report_id !== null && <> report #{e.report_id}</>}
                  </td>
                  <td>{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!state.loading && !state.error && entries.length === 0 && <p class="meta">Nothing logged yet.</p>}
      {state.loading && <p class="loading">Loading…</p>}
      {state.error && (
        <div>
          <p class="field-error">{state.error}</p>
          <button type="button" class="secondary small" onClick={() => void load(last)}>Try again</button>
        </div>
      )}
      {!state.loading && !state.error && state.more && (
        <button type="button" class="secondary" onClick={() => void load(last)}>Show older</button>
      )}
    </section>
  );
}

// --- the page ------------------------------------------------------------------------------------

export function AdminPage({ route, role }: { route: AdminRoute; role: InstanceRole | null }) {
  const { user } = useApp();
  usePageTitle('Admin desk');
  if (!user) {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">Admin desk</h1>
        <SignInPrompt what="to use the admin desk" />
      </section>
    );
  }
  if (role === null) return <p class="loading">Loading…</p>;
  if (role === 'member') {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">Admin desk</h1>
        <p>Only this instance’s moderators and admins use this desk. <a href="/">Go home</a>.</p>
      </section>
    );
  }
  const tabs = TABS.filter((t) => !t.adminOnly || role === 'admin');
  const tab = tabs.some((t) => t.tab === route.tab) ? route.tab : 'reports';
  return (
    <div class="admin-page">
      <h1 id="admin-title">Admin desk</h1>
      <p class="meta">
        You are {role === 'admin' ? 'an admin' : 'a moderator'} of this instance.
        {role === 'moderator' && ' Accounts, invites and the audit log are for admins.'}
      </p>
      {tabs.length > 1 && (
        <nav aria-label="Admin desk">
          <ul class="tabs">
            {tabs.map((t) => (
              <li key={t.tab}>
                <a href={adminHref(t.tab)} aria-current={t.tab === tab ? 'page' : undefined}>{t.label}</a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {tab === 'reports' && <ReportsTab route={route} role={role} />}
      {tab === 'accounts' && (
        <>
          <PendingAccounts />
          <Invites />
        </>
      )}
      {tab === 'audit' && <AuditTab />}
    </div>
  );
}
