// Unit tests for the rules of reports, notices and the admin desk (src/moderationRules.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adminHref,
  badgeText,
  confirmQuestion,
  decisionBody,
  decisionsFor,
  myReportState,
  queuePath,
  reasonLabel,
  reportBody,
  reportTitle,
  sanctionText,
  unreadIds,
  unreadWords,
  type DecisionForm,
} from '../src/moderationRules';
import type { ReportTarget } from '../src/types';

const bob = { id: 7, handle: 'bob', display_name: 'Bob', avatar_url: null };
const REASONS = ['spam', 'harassment', 'sexual_content', 'other'];
const form = (change: Partial<DecisionForm>): DecisionForm => ({
  decision: 'dismiss', reason: '', message: '', days: '7', forGood: false, pinId: '', clipId: '', ...change,
});

describe('reasonLabel', () => {
  it('turns a lowercase word into words', () => {
    assert.equal(reasonLabel('sexual_content'), 'Sexual content');
    assert.equal(reasonLabel('spam'), 'Spam');
    assert.equal(reasonLabel('suspend_for_good'), 'Suspend for good');
  });
});

describe('reportBody', () => {
  it('names the user, the space, or both for a moment', () => {
    assert.deepEqual(reportBody({ kind: 'user', user: bob }, 'spam', '', REASONS),
      { ok: true, body: { kind: 'user', reason: 'spam', user_id: 7 } });
    assert.deepEqual(reportBody({ kind: 'space', space: { id: 3, title: 'T' } }, 'spam', ' loud ', REASONS),
      { ok: true, body: { kind: 'space', reason: 'spam', space_id: 3, note: 'loud' } });
  });
  it('sends no time for a live moment, and the playback time for a replay', () => {
    const live: ReportTarget = { kind: 'moment', user: bob, spaceId: 3, atS: null };
    const replay: ReportTarget = { kind: 'moment', user: bob, spaceId: 3, atS: 83.12345 };
    const a = reportBody(live, 'hate', '', ['hate']);
    const b = reportBody(replay, 'hate', '', ['hate']);
    assert.ok(a.ok && !('at_s' in a.body));
    assert.ok(b.ok && b.body.at_s === 83.123 && b.body.user_id === 7 && b.body.space_id === 3);
  });
  it('asks for a reason, and for a note when the reason is other', () => {
    const none = reportBody({ kind: 'user', user: bob }, '', '', REASONS);
    assert.ok(!none.ok && none.errors.reason);
    const other = reportBody({ kind: 'user', user: bob }, 'other', '   ', REASONS);
    assert.ok(!other.ok && other.errors.note && !other.errors.reason);
    const long = reportBody({ kind: 'user', user: bob }, 'spam', 'x'.repeat(1001), REASONS);
    assert.ok(!long.ok && long.errors.note);
    const unknown = reportBody({ kind: 'user', user: bob }, 'rude', '', REASONS);
    assert.ok(!unknown.ok && unknown.errors.reason);
  });
  it('titles the dialog by what is reported', () => {
    assert.equal(reportTitle({ kind: 'user', user: bob }), 'Report @bob');
    assert.equal(reportTitle({ kind: 'moment', user: bob, spaceId: 1, atS: null }), 'Report what @bob said');
  });
});

describe('the unread badge', () => {
  it('shows nothing at 0 and caps at 99+', () => {
    assert.equal(badgeText(0), '');
    assert.equal(badgeText(-1), '');
    assert.equal(badgeText(3), '3');
    assert.equal(badgeText(120), '99+');
    assert.equal(unreadWords(1), '1 unread');
    assert.equal(unreadWords(0), '');
  });
  it('marks read only the unread notices shown', () => {
    assert.deepEqual(unreadIds([{ id: 1, read: true }, { id: 2, read: false }, { id: 5, read: false }]), [2, 5]);
  });
});

describe('decisionBody', () => {
  it('dismisses with a reason', () => {
    assert.deepEqual(decisionBody(form({ reason: ' ok ' }), 'moderator'), { ok: true, body: { decision: 'dismiss', reason: 'ok' } });
  });
  it('needs the warning text', () => {
    const empty = decisionBody(form({ decision: 'warn' }), 'moderator');
    assert.ok(!empty.ok && empty.errors.message);
    const good = decisionBody(form({ decision: 'warn', message: 'Be kind' }), 'moderator');
    assert.ok(good.ok && good.body.message === 'Be kind' && good.body.days === undefined);
  });
  it('limits days by role, and for good to admins', () => {
    assert.ok(!decisionBody(form({ decision: 'suspend', days: '31' }), 'moderator').ok);
    const mod = decisionBody(form({ decision: 'suspend', days: '30' }), 'moderator');
    assert.ok(mod.ok && mod.body.days === 30);
    assert.ok(decisionBody(form({ decision: 'suspend', days: '365' }), 'admin').ok);
    assert.ok(!decisionBody(form({ decision: 'restrict_hosting', days: '0' }), 'admin').ok);
    assert.ok(!decisionBody(form({ decision: 'restrict_hosting', days: 'soon' }), 'admin').ok);
    const forGood = decisionBody(form({ decision: 'suspend', forGood: true }), 'admin');
    assert.ok(forGood.ok && forGood.body.days === undefined);
    const modForGood = decisionBody(form({ decision: 'suspend', forGood: true }), 'moderator');
    assert.ok(!modForGood.ok && modForGood.errors.days);
    const half = decisionBody(form({ decision: 'suspend', days: '1,5' }), 'moderator');
    assert.ok(half.ok && half.body.days === 1.5);
  });
  it('takes a pin number and a clip id or link', () => {
    assert.ok(!decisionBody(form({ decision: 'remove_pin', pinId: 'x' }), 'admin').ok);
    const pin = decisionBody(form({ decision: 'remove_pin', pinId: '12' }), 'admin');
    assert.ok(pin.ok && pin.body.pin_id === 12);
    const clip = decisionBody(form({ decision: 'remove_clip', clipId: 'https://p.example/clips/Ab_9-x?t=1' }), 'admin');
    assert.ok(clip.ok && clip.body.clip_id === 'Ab_9-x');
    assert.ok(!decisionBody(form({ decision: 'remove_clip', clipId: 'no spaces' }), 'admin').ok);
  });
  it('asks before the severe decisions only', () => {
    assert.equal(confirmQuestion({ decision: 'dismiss', reason: '' }, '@bob'), null);
    assert.equal(confirmQuestion({ decision: 'warn', reason: '', message: 'x' }, '@bob'), null);
    assert.match(confirmQuestion({ decision: 'suspend', reason: '', days: 7 }, '@bob') ?? '', /Suspend @bob for 7 days/);
    assert.match(confirmQuestion({ decision: 'suspend', reason: '' }, '@bob') ?? '', /for good/);
    assert.match(confirmQuestion({ decision: 'end_space', reason: '' }, null) ?? '', /End this space/);
  });
  it('offers only what the report allows', () => {
    const spaceOnly = decisionsFor({ target: null, space_id: 4 }).map((d) => d.decision);
    assert.ok(spaceOnly.includes('end_space') && !spaceOnly.includes('warn') && !spaceOnly.includes('suspend'));
    const userOnly = decisionsFor({ target: bob, space_id: null }).map((d) => d.decision);
    assert.ok(userOnly.includes('suspend') && !userOnly.includes('end_space'));
  });
});

describe('the desk', () => {
  it('keeps its filters in the URL and in the queue query', () => {
    assert.equal(adminHref('reports'), '/admin');
    assert.equal(adminHref('reports', { state: 'open', kind: '', reason: 'spam' }), '/admin?state=open&reason=spam');
    assert.equal(adminHref('audit'), '/admin?tab=audit');
    assert.equal(queuePath({}), '/api/admin/reports?state=open');
    assert.equal(queuePath({ state: 'dismissed', kind: 'moment' }), '/api/admin/reports?state=dismissed&kind=moment');
  });
  it('says where my report stands and what a sanction was', () => {
    assert.equal(myReportState('actioned'), 'Reviewed: the moderators took action');
    const text = sanctionText({
      id: 1, kind: 'suspended', reason: 'spam', created_at: '2024-01-01T00:00:00Z', ends_at: null, lifted_at: null, in_force: true,
    });
    assert.match(text, /^Suspended, .*, for good — spam$/);
    const warning = sanctionText({
      id: 2, kind: 'warning', reason: '', created_at: '2024-01-01T00:00:00Z', ends_at: null, lifted_at: null, in_force: false,
    });
    assert.match(warning, /^Warning, /);
    assert.doesNotMatch(warning, /for good|over/);
  });
});
