// Pure rules of the bell, the notification settings, reminders, sharing and messages (issue 13):
// no DOM, no fetch, tested in test/notify.test.ts.
import type { AppNotification, NotificationSettings, UserBrief } from './types';

// --- The bell: one list, deduped by id, and its unread count ------------------------------------

export interface BellState {
  /** Newest first. */
  items: AppNotification[];
  /** The server's count (which covers more than the list holds). */
  unread: number;
  /** The list came from GET /api/notifications (else only what the socket pushed is known). */
  loaded: boolean;
}

export const EMPTY_BELL: BellState = { items: [], unread: 0, loaded: false };
/** The bell keeps at most this many in memory (the page lists the server's newest). */
export const BELL_KEEP = 200;

function newestFirst(a: AppNotification, b: AppNotification): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return b.id - a.id;
}

/** The server's list replaces ours; what the socket pushed meanwhile (not in it) stays. */
export function bellLoaded(state: BellState, items: AppNotification[], unread: number): BellState {
  const ids = new Set(items.map((n) => n.id));
  const kept = state.items.filter((n) => !ids.has(n.id) && n.id > Math.max(0, ...ids));
  return { items: [...kept, ...items].sort(newestFirst).slice(0, BELL_KEEP), unread, loaded: true };
}

/** The socket's `hello`: the count as the server has it now. */
export function bellHello(state: BellState, unread: number): BellState {
  return { ...state, unread: Math.max(0, unread) };
}

/**
 * One pushed notification: counted once however often it comes (the socket may send one the
 * hello already counted, and a reconnect may send it again).
 */
export function bellReceived(state: BellState, notification: AppNotification): BellState {
  const known = state.items.find((n) => n.id === notification.id);
  if (known) {
    const items = state.items.map((n) => (n.id === notification.id ? { ...notification, read: n.read || notification.read } : n));
    return { ...state, items };
  }
  const items = [notification, ...state.items].sort(newestFirst).slice(0, BELL_KEEP);
  return { ...state, items, unread: state.unread + (notification.read ? 0 : 1) };
}

/** Marked read (null: all). */
export function bellRead(state: BellState, ids: number[] | null): BellState {
  const which = ids === null ? null : new Set(ids);
  let cleared = 0;
  const items = state.items.map((n) => {
    if (n.read || (which && !which.has(n.id))) return n;
    cleared += 1;
    return { ...n, read: true };
  });
  const unread = which === null ? 0 : Math.max(0, state.unread - cleared);
  return { ...state, items, unread };
}

export function unreadIdsOf(items: AppNotification[]): number[] {
  return items.filter((n) => !n.read).map((n) => n.id);
}

/** "9+" past nine, as the notices badge does. */
export function bellBadge(unread: number): string {
  return unread > 9 ? '9+' : String(unread);
}

export function bellWords(unread: number): string {
  if (unread === 0) return 'no unread notifications';
  return unread === 1 ? '1 unread notification' : `${unread} unread notifications`;
}

/** How long ago, short: "just now", "5 min ago", "3 h ago", "2 d ago", then the date. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return '';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86_400) return `${Math.floor(s / 86_400)} d ago`;
  return new Date(at).toISOString().slice(0, 10);
}

/** A notification's link, kept to this site's own paths (never another origin). */
export function safeLink(link: string | null | undefined): string | null {
  if (!link || !link.startsWith('/') || link.startsWith('//') || link.startsWith('/api')) return null;
  return link;
}

// --- Web Push -----------------------------------------------------------------------------------

/** The VAPID key (base64url, no padding) as bytes, for pushManager.subscribe. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) throw new Error('not base64url');
  const padded = clean + '='.repeat((4 - (clean.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// --- The settings' table: kinds x channels ------------------------------------------------------

export type Kind = 'live' | 'reminder' | 'invitation' | 'message' | 'follower' | 'shared' | 'report';
export type Channel = 'in_app' | 'push' | 'email';
export const KINDS: readonly Kind[] = ['live', 'reminder', 'invitation', 'message', 'follower', 'shared', 'report'];
export const CHANNELS: readonly Channel[] = ['in_app', 'push', 'email'];

export const KIND_LABELS: Record<Kind, { name: string; hint: string }> = {
  live: { name: 'Going live', hint: 'Someone you follow, or a space you asked to be reminded of, goes live' },
  reminder: { name: 'Reminders', hint: 'A space you asked about starts, changes or is canceled; you were named co-host' },
  invitation: { name: 'Invitations', hint: 'A host invites you to listen or to speak' },
  message: { name: 'Messages', hint: 'Someone sends you a message' },
  follower: { name: 'New followers', hint: 'Someone follows you' },
  shared: { name: 'Shares', hint: 'Someone shares your space with their followers' },
  report: { name: 'Reports', hint: 'What came of a report you filed' },
};
export const CHANNEL_LABELS: Record<Channel, string> = { in_app: 'In the app', push: 'Push', email: 'Email' };

export function kindName(kind: string): string {
  return (KIND_LABELS as Record<string, { name: string } | undefined>)[kind]?.name ?? kind;
}

export type ChannelTable = Record<Kind, Channel[]>;

/** The server's channels, every kind present, in the table's channel order. */
export function channelTable(channels: Record<string, string[]>): ChannelTable {
  const table = {} as ChannelTable;
  for (const kind of KINDS) {
    const chosen = channels[kind] ?? [];
    table[kind] = CHANNELS.filter((c) => chosen.includes(c));
  }
  return table;
}

export function withChannel(table: ChannelTable, kind: Kind, channel: Channel, on: boolean): ChannelTable {
  const chosen = new Set(table[kind]);
  if (on) chosen.add(channel);
  else chosen.delete(channel);
  return { ...table, [kind]: CHANNELS.filter((c) => chosen.has(c)) };
}

/** Why the email column cannot be used now, or null when it can. */
export function emailUnavailable(settings: Pick<NotificationSettings, 'email_available' | 'email'>): string | null {
  if (!settings.email_available) return 'This server does not send email.';
  if (!settings.email) return 'Add an email address below to get email.';
  return null;
}

/** Where the saved address stands: nothing is emailed to it until the link sent there is followed. */
export function emailStatus(settings: Pick<NotificationSettings, 'email_available' | 'email' | 'email_confirmed'>): string | null {
  if (!settings.email_available || !settings.email) return null;
  if (settings.email_confirmed) return `Confirmed: email goes to ${settings.email}.`;
  return `Not confirmed yet: follow the link we sent to ${settings.email}. Nothing is emailed until then.`;
}

/** The kinds whose channels differ between two tables (what a PATCH needs to send). */
export function changedKinds(before: ChannelTable, after: ChannelTable): Kind[] {
  return KINDS.filter((k) => before[k].join(',') !== after[k].join(','));
}

/** Quiet hours as the form holds them: both times or neither. */
export function quietProblem(start: string, end: string): string | null {
  if (!start && !end) return null;
  if (!start || !end) return 'Give both a start and an end, or clear both.';
  if (!/^\d{2}:\d{2}$/.test(start) || !/^\d{2}:\d{2}$/.test(end)) return 'Use the HH:MM form.';
  if (start === end) return 'The start and the end must differ.';
  return null;
}

// --- Reminders, calendars, sharing --------------------------------------------------------------

export function reminderCountWords(count: number): string {
  if (count === 0) return 'Nobody has asked for a reminder yet.';
  return count === 1 ? '1 person asked for a reminder' : `${count} people asked for a reminder`;
}

/** The webcal feed of a person's spaces, in the viewer's time zone. */
export function webcalUrl(host: string, handle: string, timeZone: string | null): string {
  const tz = timeZone ? `?tz=${encodeURIComponent(timeZone)}` : '';
  return `webcal://${host}/api/users/${encodeURIComponent(handle)}/calendar.ics${tz}`;
}

export function embedCode(origin: string, spaceId: number): string {
  return `<iframe src="${origin}/embed/s/${spaceId}" width="100%" height="180" frameborder="0" allow="autoplay"></iframe>`;
}

/** "Shared by Ann", "Shared by Ann and Bo", "Shared by Ann and 2 others". */
export function sharedByWords(sharedBy: Pick<UserBrief, 'display_name' | 'handle'>[], count: number): string {
  const names = sharedBy.map((u) => u.display_name || `@${u.handle}`);
  const total = Math.max(count, names.length);
  if (names.length === 0) return total === 1 ? 'Shared by 1 person' : `Shared by ${total} people`;
  if (total === 1) return `Shared by ${names[0]}`;
  if (total === 2 && names.length >= 2) return `Shared by ${names[0]} and ${names[1]}`;
  const others = total - 1;
  return `Shared by ${names[0]} and ${others === 1 ? '1 other' : `${others} others`}`;
}

const HANDLE = /^[A-Za-z0-9_]{1,30}$/;

/** Handles typed in one box ("@ann, bo cy"): each once, in order; what is not a handle apart. */
export function parseHandles(text: string): { handles: string[]; invalid: string[] } {
  const handles: string[] = [];
  const seen = new Set<string>();
  const invalid: string[] = [];
  for (const raw of text.split(/[\s,;]+/)) {
    if (!raw) continue;
    const handle = raw.replace(/^@/, '');
    if (!HANDLE.test(handle)) {
      invalid.push(raw);
      continue;
    }
    if (seen.has(handle.toLowerCase())) continue;
    seen.add(handle.toLowerCase());
    handles.push(handle);
  }
  return { handles, invalid };
}

export const REFUSAL_WORDS: Record<string, string> = {
  self: 'that is you',
  blocked: 'messages cannot pass between you',
  dm_closed: 'does not take direct messages',
  not_followed: 'takes messages only from people they follow',
  unknown_user: 'no such account',
  already_on_stage: 'already on stage',
  removed_from_space: 'was removed from this space',
  blocked_by_host: 'blocked by the host',
  already_invited: 'already invited',
  rate_limited: 'too many invitations: try again in a moment',
};

export function refusalWords(reason: string): string {
  return REFUSAL_WORDS[reason] ?? reason.replace(/_/g, ' ');
}

/** Who may message me, as the settings say it. */
export const DM_POLICY_LABELS: Record<'everyone' | 'following' | 'nobody', string> = {
  everyone: 'Everyone',
  following: 'People you follow',
  nobody: 'Nobody',
};
