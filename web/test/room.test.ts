// Unit tests for the pure room rules (src/room.ts) and the reconnect backoff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEvent, fromSnapshot, pendingRequests, stageMembers, type RoomState } from '../src/room';
import { backoffDelayMs, FATAL_CLOSE_CODES } from '../src/roomSocket';
import type { Member, Role, ServerEvent, SnapshotEvent, Space, StageRequest } from '../src/types';

const space: Space = {
  id: 7, title: 'Room', topics: [], speaker_policy: 'everyone', state: 'live',
  host: { id: 1, handle: 'hana', display_name: 'Hana', avatar_url: null }, scheduled_for: null,
  started_at: '2026-01-01T00:00:00Z', ended_at: null, created_at: '2026-01-01T00:00:00Z',
  listener_count: 1, stage_count: 1, record: true, accounts_required: false,
  captions: false, caption_language: 'en',
};

function member(id: number, name: string, role: Role, extra: { muted?: boolean; stage_request?: StageRequest } = {}): Member {
  return {
    user: { id, handle: name.toLowerCase(), display_name: name, avatar_url: null },
    role, muted: extra.muted ?? true, stage_request: extra.stage_request ?? 'none', connected: true, mic_live: true, captioned: true,
  };
}

const host = member(1, 'Hana', 'host', { muted: false });
const bob = member(2, 'Bob', 'listener');
const me = member(3, 'Me', 'listener');

function snapshot(seq = 10): SnapshotEvent {
  return { type: 'snapshot', seq, space, members: [host], pins: [], listener_count: 2, me };
}

function applied(state: RoomState | null, event: ServerEvent): { state: RoomState; announcements: string[] } {
  const result = applyEvent(state, event);
  assert.equal(result.kind, 'applied', `expected ${event.type} to apply, got ${result.kind}`);
  if (result.kind !== 'applied') throw new Error('unreachable');
  return result;
}

describe('applyEvent', () => {
  it('starts from a snapshot', () => {
    const { state } = applied(null, snapshot());
    assert.equal(state.seq, 10);
    assert.deepEqual(stageMembers(state).map((m) => m.user.id), [1]);
    assert.equal(state.listenerCount, 2);
    assert.equal(state.me.user.id, 3);
  });

  it('applies only the next seq: older is a duplicate, newer is a gap', () => {
    const { state } = applied(null, snapshot());
    const update = (seq: number): ServerEvent => ({
      type: 'member_updated', seq, member: { ...bob, stage_request: 'requested' },
    });
    assert.deepEqual(applyEvent(state, update(10)), { kind: 'ignored' });
    assert.deepEqual(applyEvent(state, update(12)), { kind: 'gap', expected: 11, got: 12 });
    const next = applied(state, update(11));
    assert.equal(next.state.seq, 11);
    assert.deepEqual(pendingRequests(next.state).map((m) => m.user.id), [2]);
    assert.deepEqual(next.announcements, ['Bob asked to speak']);
  });

  it('gives a visitor (me: null) a stand-in listener seat', () => {
    const { state } = applied(null, { ...snapshot(), me: null });
    assert.equal(state.visitor, true);
    assert.equal(state.me.role, 'listener');
    assert.equal(state.me.user.id, -1);
    assert.equal(applied(null, snapshot()).state.visitor, false);
  });

  it('takes a hidden change (not for visitors to see) as its seq alone', () => {
    const { state } = applied(null, { ...snapshot(), me: null });
    const next = applied(state, { type: 'hidden', seq: 11 });
    assert.equal(next.state.seq, 11);
    assert.deepEqual(next.announcements, []);
    assert.deepEqual(applyEvent(next.state, { type: 'hidden', seq: 13 }), { kind: 'gap', expected: 12, got: 13 });
  });

  it('treats any change before a snapshot as a gap', () => {
    const result = applyEvent(null, { type: 'pin_removed', seq: 3, pin_id: 1 });
    assert.equal(result.kind, 'gap');
  });

  it('announces stage changes and drops listeners with nothing pending', () => {
    let { state } = applied(null, snapshot());
    ({ state } = applied(state, { type: 'member_updated', seq: 11, member: { ...bob, stage_request: 'requested' } }));
    let result = applied(state, { type: 'member_updated', seq: 12, member: { ...bob, role: 'speaker', muted: true } });
    assert.deepEqual(result.announcements, ['Bob joined the stage']);
    result = applied(result.state, { type: 'member_updated', seq: 13, member: { ...bob, role: 'speaker', muted: false } });
    assert.deepEqual(result.announcements, ['Bob unmuted']);
    result = applied(result.state, { type: 'member_updated', seq: 14, member: { ...bob, role: 'speaker', muted: true } });
    assert.deepEqual(result.announcements, ['Bob was muted']);
    result = applied(result.state, { type: 'member_updated', seq: 15, member: { ...bob, role: 'listener' } });
    assert.deepEqual(result.announcements, ['Bob left the stage']);
    assert.equal(result.state.members.has(2), false);
  });

  it('keeps me current even when I am not listed', () => {
    const { state } = applied(null, snapshot());
    const result = applied(state, { type: 'member_updated', seq: 11, member: { ...me, stage_request: 'invited' } });
    assert.equal(result.state.me.stage_request, 'invited');
    assert.deepEqual(result.announcements, ['You were invited to speak']);
  });

  it('orders the stage host, co-hosts, speakers', () => {
    let { state } = applied(null, snapshot());
    ({ state } = applied(state, { type: 'member_updated', seq: 11, member: member(4, 'Sue', 'speaker') }));
    ({ state } = applied(state, { type: 'member_updated', seq: 12, member: member(5, 'Cal', 'cohost') }));
    assert.deepEqual(stageMembers(state).map((m) => m.role), ['host', 'cohost', 'speaker']);
  });

  it('marks me removed', () => {
    const { state } = applied(null, snapshot());
    const result = applied(state, { type: 'member_removed', seq: 11, user_id: 3, reason: 'removed' });
    assert.equal(result.state.removed, 'removed');
  });

  it('adds and removes pins, and follows the space and presence', () => {
    let { state } = applied(null, snapshot());
    const pin = { id: 9, kind: 'post' as const, text: 'Hi', url: null, created_at: '2026-01-01T00:00:00Z' };
    ({ state } = applied(state, { type: 'pin_added', seq: 11, pin }));
    assert.equal(state.pins.length, 1);
    ({ state } = applied(state, { type: 'pin_removed', seq: 12, pin_id: 9 }));
    assert.equal(state.pins.length, 0);
    ({ state } = applied(state, { type: 'space_updated', seq: 13, space: { ...space, state: 'ended' } }));
    assert.equal(state.space.state, 'ended');
    ({ state } = applied(state, { type: 'presence', seq: null, listener_count: 5 }));
    assert.equal(state.listenerCount, 5);
    assert.equal(state.seq, 13, 'ephemeral messages do not move seq');
  });

  it('a fresh snapshot replaces everything', () => {
    const { state } = applied(null, snapshot(10));
    const result = applied(state, { ...snapshot(40), members: [host, member(4, 'Sue', 'speaker')] });
    assert.equal(result.state.seq, 40);
    assert.equal(stageMembers(result.state).length, 2);
  });
});

describe('backoffDelayMs', () => {
  it('grows, is jittered, and is capped', () => {
    assert.equal(backoffDelayMs(0, () => 1), 500);
    assert.equal(backoffDelayMs(0, () => 0), 250);
    assert.equal(backoffDelayMs(3, () => 1), 4000);
    assert.equal(backoffDelayMs(20, () => 1), 10_000);
  });
});

// fromSnapshot copies: mutating the input afterwards does not change the state.
describe('fromSnapshot', () => {
  it('does not share the pins array', () => {
    const event = snapshot();
    const state = fromSnapshot(event);
    event.pins.push({ id: 1, kind: 'post', text: 'x', url: null, created_at: '' });
    assert.equal(state.pins.length, 0);
  });
});

describe('closes that end the room', () => {
  it('stops on a visitor space that ended or is full, retries on too many from one address', () => {
    for (const code of [4401, 4403, 4404, 4409, 4410, 4503]) assert.ok(FATAL_CLOSE_CODES.has(code), String(code));
    for (const code of [1006, 1012, 4000, 4008, 4408, 4429]) assert.ok(!FATAL_CLOSE_CODES.has(code), String(code));
  });
});

describe('captions in the room state', () => {
  it('says when live captions turn on or off, and ignores caption lines (the caller keeps them)', () => {
    let { state } = applied(null, snapshot());
    let announcements: string[];
    ({ state, announcements } = applied(state, { type: 'space_updated', seq: 11, space: { ...space, captions: true } }));
    assert.deepEqual(announcements, ['Live captions turned on']);
    ({ state, announcements } = applied(state, { type: 'space_updated', seq: 12, space: { ...space, captions: true, caption_language: 'fr' } }));
    assert.deepEqual(announcements, ['Caption language changed']);
    ({ announcements } = applied(state, { type: 'space_updated', seq: 13, space: { ...space, captions: false } }));
    assert.deepEqual(announcements, ['Live captions turned off']);
    const caption = { type: 'caption' as const, seq: null, line: { id: 1, user_id: 1, start_s: 0, end_s: 1, text: 'hi', final: true } };
    assert.equal(applyEvent(state, caption).kind, 'ignored');
  });
  it('tells me when my own voice stops or starts being captioned', () => {
    const onStageMe = { ...member(3, 'Me', 'speaker'), captioned: true };
    let { state } = applied(null, { ...snapshot(), members: [host, onStageMe], me: onStageMe });
    let announcements: string[];
    ({ state, announcements } = applied(state, { type: 'member_updated', seq: 11, member: { ...onStageMe, captioned: false } }));
    assert.deepEqual(announcements, ['Your voice is no longer captioned']);
    assert.equal(state.me.captioned, false);
  });
});
