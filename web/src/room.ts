// The room's state as the WebSocket builds it (docs/websocket.md): a snapshot, then
// seq'd deltas applied strictly in order. Pure: no sockets, no DOM, so the rules
// about gaps, duplicates and announcements live in one place.
import type { LevelsEvent, Member, Pin, SeqEvent, ServerEvent, SnapshotEvent, Space, UserBrief } from './types';
import { onStage } from './types';

export interface RoomState {
  seq: number;
  space: Space;
  /** Everyone on stage plus listeners with a pending request or invitation, by user id. */
  members: Map<number, Member>;
  pins: Pin[];
  listenerCount: number;
  me: Member;
  /** A visitor (no account): `me` is a stand-in listener who can do nothing but listen. */
  visitor: boolean;
  /** Set when I was removed from the space ("removed" | "blocked"). */
  removed: 'removed' | 'blocked' | null;
}

/** A visitor's stand-in seat: a listener with no account (id -1 matches no member). */
export const VISITOR_ME: Member = {
  user: { id: -1, handle: '', display_name: 'You', avatar_url: null },
  role: 'listener', muted: true, stage_request: 'none', connected: true, mic_live: false, captioned: true,
};

export type ApplyResult =
  | { kind: 'applied'; state: RoomState; announcements: string[] }
  | { kind: 'ignored' } // a duplicate (seq already applied) or an event that changes nothing
  | { kind: 'gap'; expected: number; got: number };

export function fromSnapshot(event: SnapshotEvent): RoomState {
  const members = new Map<number, Member>();
  for (const m of event.members) members.set(m.user.id, m);
  return {
    seq: event.seq,
    space: event.space,
    members,
    pins: [...event.pins],
    listenerCount: event.listener_count,
    me: event.me ?? VISITOR_ME,
    visitor: event.me === null,
    removed: null,
  };
}

const listed = (m: Member) => m.role !== 'listener' || m.stage_request !== 'none';

export function nameOf(user: UserBrief): string {
  return user.display_name || `@${user.handle}`;
}

/** What changed for a member, in words, or nothing worth saying. */
export function describeMemberChange(before: Member | undefined, after: Member, myId: number): string[] {
  const me = after.user.id === myId;
  const name = me ? 'You' : nameOf(after.user);
  const out: string[] = [];
  const wasOn = onStage(before);
  const isOn = onStage(after);
  if (!wasOn && isOn) out.push(me ? 'You joined the stage' : `${name} joined the stage`);
  else if (wasOn && !isOn) out.push(me ? 'You left the stage' : `${name} left the stage`);
  if (before && isOn && wasOn) {
    if (before.role !== 'cohost' && after.role === 'cohost') out.push(me ? 'You are now a co-host' : `${name} is now a co-host`);
    if (before.role === 'cohost' && after.role !== 'cohost') out.push(me ? 'You are no longer a co-host' : `${name} is no longer a co-host`);
  }
  if (me && before && before.captioned !== after.captioned) {
    out.push(after.captioned ? 'Your voice is captioned again' : 'Your voice is no longer captioned');
  }
  if (isOn && before && wasOn && before.muted !== after.muted) {
    out.push(after.muted ? (me ? 'You were muted' : `${name} was muted`) : (me ? 'You unmuted' : `${name} unmuted`));
  }
  const prevRequest = before?.stage_request ?? 'none';
  if (prevRequest !== after.stage_request && !isOn) {
    if (after.stage_request === 'requested') out.push(me ? 'You asked to speak' : `${name} asked to speak`);
    if (after.stage_request === 'invited') out.push(me ? 'You were invited to speak' : `${name} was invited to speak`);
    if (after.stage_request === 'none' && !wasOn) {
      out.push(me
        ? (prevRequest === 'invited' ? 'Your invitation to speak ended' : 'Your request to speak ended')
        : (prevRequest === 'invited' ? `${name}'s invitation ended` : `${name}'s request to speak ended`));
    }
  }
  return out;
}

function describeSpace(before: Space, after: Space): string[] {
  if (before.state === after.state) {
    // Live captions turned on or off: everyone is told (those on stage, that they are transcribed).
    if (before.captions !== after.captions) return [after.captions ? 'Live captions turned on' : 'Live captions turned off'];
    if (after.captions && before.caption_language !== after.caption_language) return ['Caption language changed'];
    return [];
  }
  switch (after.state) {
    case 'live': return ['Space started'];
    case 'ended': return ['Space ended'];
    case 'canceled': return ['Space canceled'];
    default: return [];
  }
}

function applyDelta(state: RoomState, event: SeqEvent): { state: RoomState; announcements: string[] } {
  const next: RoomState = { ...state, seq: event.seq };
  const myId = state.me.user.id;
  switch (event.type) {
    case 'space_updated':
      next.space = event.space;
      return { state: next, announcements: describeSpace(state.space, event.space) };
    case 'member_updated': {
      const member = event.member;
      const before = state.members.get(member.user.id) ?? (member.user.id === myId ? state.me : undefined);
      const members = new Map(state.members);
      if (listed(member)) members.set(member.user.id, member);
      else members.delete(member.user.id);
      next.members = members;
      if (member.user.id === myId) next.me = member;
      return { state: next, announcements: describeMemberChange(before, member, myId) };
    }
    case 'member_removed': {
      const before = state.members.get(event.user_id);
      const members = new Map(state.members);
      members.delete(event.user_id);
      next.members = members;
      if (event.user_id === myId) {
        next.removed = event.reason;
        return { state: next, announcements: ['You were removed from this space'] };
      }
      return { state: next, announcements: before ? [`${nameOf(before.user)} was removed`] : [] };
    }
    case 'pin_added':
      next.pins = [...state.pins.filter((p) => p.id !== event.pin.id), event.pin];
      return { state: next, announcements: [`Pinned: ${event.pin.text}`] };
    case 'pin_removed':
      next.pins = state.pins.filter((p) => p.id !== event.pin_id);
      return { state: next, announcements: ['A pin was removed'] };
    case 'hidden':
      return { state: next, announcements: [] };
  }
}

/**
 * Apply one server message. A seq'd change applies only when its seq is exactly one
 * more than the last applied; an older one is a duplicate, a newer one a gap (the
 * caller reconnects with ?last_seq=). Ephemeral messages are handled by the caller,
 * except `presence`, which updates the listener count.
 */
export function applyEvent(state: RoomState | null, event: ServerEvent): ApplyResult {
  if (event.type === 'snapshot') {
    return { kind: 'applied', state: fromSnapshot(event), announcements: [] };
  }
  if (event.type === 'presence') {
    if (!state || state.listenerCount === event.listener_count) return { kind: 'ignored' };
    return { kind: 'applied', state: { ...state, listenerCount: event.listener_count }, announcements: [] };
  }
  if (event.type === 'ping' || event.type === 'reactions' || event.type === 'levels' || event.type === 'caption') {
    return { kind: 'ignored' };
  }
  if (!state) return { kind: 'gap', expected: 0, got: event.seq };
  if (event.seq <= state.seq) return { kind: 'ignored' };
  if (event.seq !== state.seq + 1) return { kind: 'gap', expected: state.seq + 1, got: event.seq };
  const { state: next, announcements } = applyDelta(state, event);
  return { kind: 'applied', state: next, announcements };
}

const ROLE_ORDER: Record<string, number> = { host: 0, cohost: 1, speaker: 2, listener: 3 };

export function stageMembers(state: RoomState): Member[] {
  return [...state.members.values()]
    .filter((m) => onStage(m))
    .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]);
}

export function pendingRequests(state: RoomState): Member[] {
  return [...state.members.values()].filter((m) => m.role === 'listener' && m.stage_request === 'requested');
}

export function pendingInvitations(state: RoomState): Member[] {
  return [...state.members.values()].filter((m) => m.role === 'listener' && m.stage_request === 'invited');
}

/**
 * Speaking levels after a `levels` message: only the members it names change, and a level of
 * 0 (stopped speaking) drops the member. Returns the same map when nothing changed.
 */
export function applyLevels(levels: ReadonlyMap<number, number>, event: LevelsEvent): ReadonlyMap<number, number> {
  let next: Map<number, number> | null = null;
  for (const [key, raw] of Object.entries(event.levels)) {
    const id = Number(key);
    if (!Number.isInteger(id)) continue;
    const value = typeof raw === 'number' && Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
    if ((levels.get(id) ?? 0) === value) continue;
    next ??= new Map(levels);
    if (value > 0) next.set(id, value);
    else next.delete(id);
  }
  return next ?? levels;
}

/** Whether a member is speaking now, by the latest levels. */
export function isSpeaking(levels: ReadonlyMap<number, number>, userId: number): boolean {
  return (levels.get(userId) ?? 0) > 0;
}
