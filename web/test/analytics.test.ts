// Unit tests for the analytics pages' rules (src/analyticsRules.ts): how a person came, the
// charts' geometry and summaries, a change against the period before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  barShares, barsSummary, changeWords, countBars, listenersGeometry, listenersSummary, periodDays,
  retentionGeometry, retentionSummary, viaOf, withVia, type SpaceFigures,
} from '../src/analyticsRules';

const figures = (overrides: Partial<SpaceFigures> = {}): SpaceFigures => ({
  start: '2026-01-01T10:00:00Z',
  end: '2026-01-01T10:03:00Z',
  audience: {
    unique_listeners: 2, unique_visitors: 1, by_path: { room: 2, webrtc: 1, hls: 1 },
    peak_listeners: 3, peak_at: '2026-01-01T10:01:30Z', total_listening_s: 300, average_listening_s: 100,
    arrivals: { link: 1, home: 2, notification: 0, embed: 0, message: 0 },
  },
  listeners_over_time: [
    { at: '2026-01-01T10:00:00Z', listeners: 1 },
    { at: '2026-01-01T10:01:00Z', listeners: 3 },
    { at: '2026-01-01T10:02:00Z', listeners: 2 },
  ],
  bucket_s: 60,
  retention: [{ minute: 0, share: 1 }, { minute: 1, share: 0.6667 }, { minute: 2, share: 0.3333 }, { minute: 3, share: 0 }],
  interactions: { reactions: {}, requests: 0, speakers: 0, clips: 0, replay_plays: 0, shares: 0, new_followers: 0 },
  total_interactions: 0,
  talk: [],
  ...overrides,
});

describe('via', () => {
  it('reads only the arrivals the server knows', () => {
    assert.equal(viaOf('?via=home'), 'home');
    assert.equal(viaOf('?x=1&via=notification'), 'notification');
    assert.equal(viaOf('?via=elsewhere'), null);
    assert.equal(viaOf(''), null);
  });
  it('adds itself to a space page link only, once', () => {
    assert.equal(withVia('/s/12', 'notification'), '/s/12?via=notification');
    assert.equal(withVia('/s/12?via=home', 'notification'), '/s/12?via=home');
    assert.equal(withVia('/u/ann', 'notification'), '/u/ann');
    assert.equal(withVia('/spaces/12/replay', 'notification'), '/spaces/12/replay');
  });
});

describe('changeWords', () => {
  it('says up, down, the same, or that there is nothing to compare with', () => {
    assert.deepEqual(changeWords({ current: 3, previous: 2, change_pct: 50 }).text, '▲ 50%');
    assert.equal(changeWords({ current: 1, previous: 2, change_pct: -50 }).direction, 'down');
    assert.equal(changeWords({ current: 2, previous: 2, change_pct: 0 }).text, 'No change');
    assert.equal(changeWords({ current: 2, previous: 0, change_pct: null }).text, 'No earlier data');
    assert.equal(changeWords(undefined).direction, 'none');
  });
});

describe('charts', () => {
  it('draws listeners as steps to the end, scaled to the peak', () => {
    const g = listenersGeometry(figures(), 180, 100);
    assert.equal(g.yMax, 3);
    assert.equal(g.line, 'M0 67.3 H60 V2 H120 V34.7 H180');
    assert.ok(g.area.endsWith('V100 H0 Z'));
  });
  it('summarizes the peak and when it was', () => {
    const text = listenersSummary(figures());
    assert.match(text, /peak 3 listeners at 1:30 into the space/);
    assert.match(listenersSummary(figures({ listeners_over_time: [], audience: { ...figures().audience, peak_listeners: 0 } })), /nobody listened/);
  });
  it('draws retention from 100 % down, and says it', () => {
    const g = retentionGeometry(figures().retention, 300, 100);
    assert.equal(g.line, 'M0 2 L100 34.7 L200 67.3 L300 100');
    assert.equal(retentionSummary(figures().retention), 'Retention, the share of listeners still there: 100% at the start, 67% after 1 minute, 0% after 3 minutes.');
    assert.match(retentionGeometry([{ minute: 0, share: 1 }], 300, 100).line, /^M0 2 L300 2$/);
  });
  it('scales bars to the longest and names them in order', () => {
    const bars = countBars({ home: 2, link: 1 }, ['link', 'home', 'embed'], { link: 'A link', home: 'Home page', embed: 'Embedded player' });
    assert.deepEqual(barShares(bars), [0.5, 1, 0]);
    assert.equal(barsSummary('How people arrived', bars), 'How people arrived: A link 1, Home page 2, Embedded player 0.');
  });
});

describe('periodDays', () => {
  it('takes 7, 28 or 90 and defaults to 28', () => {
    assert.equal(periodDays('?days=7'), 7);
    assert.equal(periodDays('?days=90'), 90);
    assert.equal(periodDays('?days=5'), 28);
    assert.equal(periodDays(''), 28);
  });
});
