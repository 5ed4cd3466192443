// Pure rules of reports, notices and the admin desk (no DOM, no fetch): the words shown, the
// request bodies and the checks the server would make anyway, so a form says what is wrong next to
// its field before sending. Tested in test/moderation.test.ts.
import { formatWhen } from './format';
import type { Decision, InstanceRole, ReportTarget, Sanction } from './types';

/** The server's limits (src/parley/domain/moderation.py). */
export const NOTE_MAX = 1000;
export const REASON_MAX = 500;
export const MESSAGE_MAX = 4000;
export const MODERATOR_MAX_DAYS = 30;
export const SANCTION_MAX_DAYS = 3650;

export type FieldErrors = Record<string, string>;
export type Checked<T> = { ok: true; body: T } | { ok: false; errors: FieldErrors };

/** "sexual_content" -> "Sexual content": an instance's reasons are lowercase words. */
export function reasonLabel(reason: string): string {
  const words = reason.replace(/_/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : reason;
}

/** An audit log's action or a decision as words: "suspend_for_good" -> "Suspend for good". */
export const actionLabel = reasonLabel;

/** The report dialog's heading. */
export function reportTitle(target: ReportTarget): string {
  switch (target.kind) {
    case 'user': return `Report @${target.user.handle}`;
    case 'space': return 'Report this space';
    case 'moment': return `Report what @${target.user.handle} said`;
  }
}

/** What is being reported, in a sentence under the heading. */
export function reportSubject(target: ReportTarget, clock: (s: number) => string): string {
  switch (target.kind) {
    case 'user': return `You are reporting the account @${target.user.handle} (${target.user.display_name}).`;
    case 'space': return `You are reporting the space “${target.space.title}”.`;
    case 'moment':
      return target.atS === null
        ? `You are reporting what @${target.user.handle} just said. The last minute of the recording goes with your report.`
        : `You are reporting what @${target.user.handle} said around ${clock(target.atS)} in this replay.`;
  }
}

export interface ReportBody {
  kind: 'user' | 'space' | 'moment';
  reason: string;
  note?: string;
  user_id?: number;
  space_id?: number;
  at_s?: number;
}

/** POST /api/reports's body, or the fields to fix first. */
export function reportBody(target: ReportTarget, reason: string, note: string, reasons: readonly string[]): Checked<ReportBody> {
  const errors: FieldErrors = {};
  const text = note.trim();
  if (!reason || (reasons.length > 0 && !reasons.includes(reason))) errors.reason = 'Choose a reason.';
  if (reason === 'other' && !text) errors.note = 'Say what is wrong: the reason is “Other”.';
  if (text.length > NOTE_MAX) errors.note = `Keep it to ${NOTE_MAX} characters (now ${text.length}).`;
  if (Object.keys(errors).length) return { ok: false, errors };
  const body: ReportBody = { kind: target.kind, reason };
  if (text) body.note = text;
  if (target.kind === 'user') body.user_id = target.user.id;
  if (target.kind === 'space') body.space_id = target.space.id;
  if (target.kind === 'moment') {
    body.user_id = target.user.id;
    body.space_id = target.spaceId;
    // A live moment is "now" on the server; a replay's is its playback time.
    if (target.atS !== null) body.at_s = Math.max(0, Math.round(target.atS * 1000) / 1000);
  }
  return { ok: true, body };
}

/** The unread count in the header's badge: nothing at 0, "99+" past 99. */
export function badgeText(unread: number): string {
  if (!Number.isFinite(unread) || unread <= 0) return '';
  return unread > 99 ? '99+' : String(Math.floor(unread));
}

/** The badge's words for screen readers, after "Notices". */
export function unreadWords(unread: number): string {
  if (!Number.isFinite(unread) || unread <= 0) return '';
  return unread === 1 ? '1 unread' : `${badgeText(unread)} unread`;
}

export interface DecisionInfo {
  decision: Decision;
  label: string;
  /** Asks before it acts. */
  severe: boolean;
  needsUser?: boolean;
  needsSpace?: boolean;
  /** Takes a length in days (or for good). */
  timed?: boolean;
}

export const DECISIONS: readonly DecisionInfo[] = [
  { decision: 'dismiss', label: 'Dismiss: no violation', severe: false },
  { decision: 'warn', label: 'Warn the user', severe: false, needsUser: true },
  { decision: 'remove_pin', label: 'Remove a pin', severe: true },
  { decision: 'remove_clip', label: 'Remove a clip', severe: true },
  { decision: 'end_space', label: 'End the space', severe: true, needsSpace: true },
  { decision: 'restrict_hosting', label: 'Restrict hosting', severe: true, needsUser: true, timed: true },
  { decision: 'suspend', label: 'Suspend the account', severe: true, needsUser: true, timed: true },
];

export function decisionInfo(decision: Decision): DecisionInfo {
  return DECISIONS.find((d) => d.decision === decision) ?? DECISIONS[0];
}

/** The decisions a report allows: those acting on a user need one named, "end" a space. */
export function decisionsFor(report: { target: unknown; space_id: number | null }): DecisionInfo[] {
  return DECISIONS.filter((d) => (!d.needsUser || report.target !== null) && (!d.needsSpace || report.space_id !== null));
}

export interface DecisionForm {
  decision: Decision;
  reason: string;
  message: string;
  days: string;
  forGood: boolean;
  pinId: string;
  clipId: string;
}

export interface DecisionBody {
  decision: Decision;
  reason: string;
  message?: string;
  days?: number;
  pin_id?: number;
  clip_id?: string;
}

/** POST /api/admin/reports/{id}/decision's body, or the fields to fix first. */
export function decisionBody(form: DecisionForm, role: InstanceRole): Checked<DecisionBody> {
  const errors: FieldErrors = {};
  const info = decisionInfo(form.decision);
  const reason = form.reason.trim();
  if (reason.length > REASON_MAX) errors.reason = `Keep it to ${REASON_MAX} characters (now ${reason.length}).`;
  const body: DecisionBody = { decision: form.decision, reason };
  if (form.decision === 'warn') {
    const message = form.message.trim();
    if (!message) errors.message = 'Write the warning the user will read.';
    else if (message.length > MESSAGE_MAX) errors.message = `Keep it to ${MESSAGE_MAX} characters.`;
    body.message = message;
  }
  if (info.timed) {
    if (form.forGood) {
      if (role !== 'admin') errors.days = 'Only an admin may decide this for good.';
    } else {
      const days = Number(form.days.trim().replace(',', '.'));
      const max = role === 'admin' ? SANCTION_MAX_DAYS : MODERATOR_MAX_DAYS;
      if (!form.days.trim() || !Number.isFinite(days) || days <= 0) errors.days = 'Give a number of days, more than 0.';
      else if (days > max) errors.days = role === 'admin' ? `At most ${max} days (or for good).` : `A moderator may decide at most ${max} days.`;
      else body.days = days;
    }
  }
  if (form.decision === 'remove_pin') {
    const id = form.pinId.trim();
    if (!/^\d{1,10}$/.test(id) || Number(id) < 1) errors.pin_id = 'Give the pin’s number.';
    else body.pin_id = Number(id);
  }
  if (form.decision === 'remove_clip') {
    // A clip's id, or its link (…/clips/{id}) pasted whole.
    const id = form.clipId.trim().replace(/^.*\/clips\//, '').replace(/[?#].*$/, '');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) errors.clip_id = 'Give the clip’s id or its link.';
    else body.clip_id = id;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, body };
}

/** The question a severe decision asks before it acts; null for the mild ones. */
export function confirmQuestion(body: DecisionBody, who: string | null): string | null {
  const info = decisionInfo(body.decision);
  if (!info.severe) return null;
  const time = body.days === undefined ? 'for good' : `for ${body.days} ${body.days === 1 ? 'day' : 'days'}`;
  switch (body.decision) {
    case 'suspend': return `Suspend ${who ?? 'this account'} ${time}? They are signed out everywhere at once.`;
    case 'restrict_hosting': return `Stop ${who ?? 'this account'} from hosting ${time}?`;
    case 'end_space': return 'End this space for everyone now?';
    case 'remove_pin': return `Remove pin ${body.pin_id}?`;
    case 'remove_clip': return `Remove clip ${body.clip_id}? Its link stops working.`;
    default: return null;
  }
}

const SANCTION_NAMES: Record<string, string> = {
  warning: 'Warning',
  hosting_restricted: 'Hosting restricted',
  suspended: 'Suspended',
};

/** A sanction in a line of the reported user's history. */
export function sanctionText(sanction: Sanction): string {
  const name = SANCTION_NAMES[sanction.kind] ?? reasonLabel(sanction.kind);
  let text = `${name}, ${formatWhen(sanction.created_at)}`;
  if (sanction.kind !== 'warning') {
    text += sanction.ends_at === null ? ', for good' : `, until ${formatWhen(sanction.ends_at)}`;
  }
  if (sanction.lifted_at) text += ` (lifted ${formatWhen(sanction.lifted_at)})`;
  else if (sanction.kind !== 'warning' && !sanction.in_force) text += ' (over)';
  if (sanction.reason) text += ` — ${sanction.reason}`;
  return text;
}

/** The desk's URL for a tab and the queue's filters; the empty ones are left out. */
export function adminHref(tab: string, filters: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (tab !== 'reports') params.set('tab', tab);
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `/admin?${query}` : '/admin';
}

/** GET /api/admin/reports's query for the queue's filters (state open by default). */
export function queuePath(filters: { state?: string; kind?: string; reason?: string }): string {
  const params = new URLSearchParams({ state: filters.state || 'open' });
  if (filters.kind) params.set('kind', filters.kind);
  if (filters.reason) params.set('reason', filters.reason);
  return `/api/admin/reports?${params.toString()}`;
}

/** Where a report I filed stands, in words. */
export function myReportState(state: string): string {
  if (state === 'open') return 'Waiting for review';
  if (state === 'dismissed') return 'Reviewed: no violation found';
  if (state === 'actioned') return 'Reviewed: the moderators took action';
  return reasonLabel(state);
}

/** The notices shown that are still unread: marked read once the page shows them. */
export function unreadIds(notices: readonly { id: number; read: boolean }[]): number[] {
  return notices.filter((n) => !n.read).map((n) => n.id);
}
