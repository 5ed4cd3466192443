// Unit tests for the bell, the notification settings, reminders and sharing (src/notifyRules.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EMPTY_BELL,
  base64UrlToBytes,
  bellBadge,
  bellHello,
  bellLoaded,
  bellRead,
  bellReceived,
  bellWords,
  changedKinds,
  channelTable,
  embedCode,
  emailStatus,
  emailUnavailable,
  parseHandles,
  quietProblem,
  reminderCountWords,
  safeLink,
  sharedByWords,
  timeAgo,
  unreadIdsOf,
  webcalUrl,
  withChannel,
} from '../src/notifyRules';
import type { AppNotification } from '../src/types';

function note(id: number, read = false, minute = id): AppNotification {
  return {
    id, kind: 'live', text: `n${id}`, link: `/s/${id}`, actor: null, space_id: id,
    created_at: `2026-12-01T10:${String(minute).padStart(2, '0')}:00Z`, read,
  };
}

describe('the bell', () => {
  it('counts a pushed notification once, however often it comes', () => {
    let state = bellHello(EMPTY_BELL, 2);
    state = bellReceived(state, note(5));
    state = bellReceived(state, note(5));
    assert.equal(state.unread, 3);
    assert.deepEqual(state.items.map((n) => n.id), [5]);
    // A read one pushed adds nothing to the count.
    state = bellReceived(state, note(6, true));
    assert.equal(state.unread, 3);
    assert.deepEqual(state.items.map((n) => n.id), [6, 5]);
  });

  it('keeps what the socket pushed after the list was fetched, newest first', () => {
    let state = bellReceived(EMPTY_BELL, note(9));
    state = bellLoaded(state, [note(4), note(3, true)], 2);
    assert.deepEqual(state.items.map((n) => n.id), [9, 4, 3]);
    assert.equal(state.unread, 2);
    assert.equal(state.loaded, true);
    // A pushed one the list already holds is not counted again.
    state = bellReceived(state, note(4));
    assert.equal(state.unread, 2);
  });

  it('marks read some or all', () => {
    let state = bellLoaded(EMPTY_BELL, [note(3), note(2), note(1)], 5);
    assert.deepEqual(unreadIdsOf(state.items), [3, 2, 1]);
    state = bellRead(state, [3, 2]);
    assert.equal(state.unread, 3);
    assert.deepEqual(unreadIdsOf(state.items), [1]);
    state = bellRead(state, null);
    assert.equal(state.unread, 0);
    assert.deepEqual(unreadIdsOf(state.items), []);
  });

  it('says the count short and in words', () => {
    assert.equal(bellBadge(3), '3');
    assert.equal(bellBadge(12), '9+');
    assert.equal(bellWords(0), 'no unread notifications');
    assert.equal(bellWords(1), '1 unread notification');
    assert.equal(bellWords(4), '4 unread notifications');
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    assert.equal(timeAgo('2026-12-01T11:59:30Z', now), 'just now');
    assert.equal(timeAgo('2026-12-01T11:55:00Z', now), '5 min ago');
    assert.equal(timeAgo('2026-12-01T09:00:00Z', now), '3 h ago');
    assert.equal(timeAgo('2026-11-29T12:00:00Z', now), '2 d ago');
    assert.equal(timeAgo('2026-10-01T12:00:00Z', now), '2026-10-01');
  });

  it('follows only links to this site', () => {
    assert.equal(safeLink('/s/12'), '/s/12');
    assert.equal(safeLink('//evil.example/x'), null);
    assert.equal(safeLink('https://evil.example/'), null);
    assert.equal(safeLink('/api/spaces/1'), null);
  });
});

describe('web push', () => {
  it('decodes a base64url VAPID key', () => {
    // 0xfb 0xff 0xbf: "+/+/" in base64, "-_-_" in base64url.
    assert.deepEqual([...base64UrlToBytes('-_-_')], [0xfb, 0xff, 0xbf]);
    assert.deepEqual([...base64UrlToBytes('AQI')], [1, 2]);
    assert.deepEqual([...base64UrlToBytes('AQI=')], [1, 2]);
    assert.equal(base64UrlToBytes('B' + 'A'.repeat(86)).length, 65);
    assert.throws(() => base64UrlToBytes('a!b'));
    assert.throws(() => base64UrlToBytes('AAAAA'));
  });
});

describe('the channel table', () => {
  it('lists every kind in channel order and toggles one box', () => {
    const table = channelTable({ live: ['push', 'in_app'], bogus: ['email'] });
    assert.deepEqual(table.live, ['in_app', 'push']);
    assert.deepEqual(table.report, []);
    assert.equal('bogus' in table, false);
    const next = withChannel(table, 'live', 'email', true);
    assert.deepEqual(next.live, ['in_app', 'push', 'email']);
    assert.deepEqual(withChannel(next, 'live', 'push', false).live, ['in_app', 'email']);
    assert.deepEqual(table.live, ['in_app', 'push']); // unchanged
    assert.deepEqual(changedKinds(table, next), ['live']);
  });

  it('says why email cannot be chosen', () => {
    assert.equal(emailUnavailable({ email_available: false, email: 'a@b.c' }), 'This server does not send email.');
    assert.equal(emailUnavailable({ email_available: true, email: null }), 'Add an email address below to get email.');
    assert.equal(emailStatus({ email_available: true, email: null, email_confirmed: false }), null);
    assert.equal(emailStatus({ email_available: false, email: 'a@b.c', email_confirmed: false }), null);
    assert.match(emailStatus({ email_available: true, email: 'a@b.c', email_confirmed: false }) ?? '', /^Not confirmed yet: .*a@b\.c/);
    assert.equal(emailStatus({ email_available: true, email: 'a@b.c', email_confirmed: true }), 'Confirmed: email goes to a@b.c.');
    assert.equal(emailUnavailable({ email_available: true, email: 'a@b.c' }), null);
  });

  it('wants both quiet hours or neither', () => {
    assert.equal(quietProblem('', ''), null);
    assert.equal(quietProblem('22:00', '07:00'), null);
    assert.match(quietProblem('22:00', '') ?? '', /both/);
    assert.match(quietProblem('07:00', '07:00') ?? '', /differ/);
  });
});

describe('reminders and sharing', () => {
  it('counts reminders for the host', () => {
    assert.equal(reminderCountWords(12), '12 people asked for a reminder');
    assert.equal(reminderCountWords(1), '1 person asked for a reminder');
    assert.equal(reminderCountWords(0), 'Nobody has asked for a reminder yet.');
  });

  it('makes the calendar feed and the embed code', () => {
    assert.equal(webcalUrl('parley.example:8000', 'ann', 'Europe/Paris'),
      'webcal://parley.example:8000/api/users/ann/calendar.ics?tz=Europe%2FParis');
    assert.equal(webcalUrl('p.example', 'ann', null), 'webcal://p.example/api/users/ann/calendar.ics');
    assert.equal(embedCode('https://p.example', 7),
      '<iframe src="https://p.example/embed/s/7" width="100%" height="180" frameborder="0" allow="autoplay"></iframe>');
  });

  it('says who shared a space', () => {
    const ann = { handle: 'ann', display_name: 'Ann' };
    const bo = { handle: 'bo', display_name: 'Bo' };
    assert.equal(sharedByWords([ann], 1), 'Shared by Ann');
    assert.equal(sharedByWords([ann, bo], 2), 'Shared by Ann and Bo');
    assert.equal(sharedByWords([ann], 2), 'Shared by Ann and 1 other');
    assert.equal(sharedByWords([ann, bo], 3), 'Shared by Ann and 2 others');
    assert.equal(sharedByWords([], 4), 'Shared by 4 people');
  });

  it('reads handles typed in one box', () => {
    assert.deepEqual(parseHandles('@ann, bo  Ann\ncy;no-pe'), { handles: ['ann', 'bo', 'cy'], invalid: ['no-pe'] });
    assert.deepEqual(parseHandles('  '), { handles: [], invalid: [] });
  });
});
