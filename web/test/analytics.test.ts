// Unit tests for the analytics pages' rules (src/analyticsRules.ts): how a person came, the
// charts' geometry and summaries, a change against the period before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARRIVALS, barShares, barsSummary, changeWords, countBars, lengthWords, listenersGeometry, listenersSummary,
  periodDays, retentionGeometry, retentionRow, retentionSummary, viaOf, withVia, type RetentionPoint,
  type SpaceFigures,
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
  retention: [
    { minute: 0, share: 1, listeners: 3 }, { minute: 1, share: 0.6667, listeners: 3 },
    { minute: 2, share: 0.3333, listeners: 3 }, { minute: 3, share: 0, listeners: 2 },
  ],
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
    assert.equal(changeWords(undefined).text, 'No earlier data');
    assert.equal(changeWords(undefined).direction, 'none');
  });
  it('says "from 0" when the figure was 0 before (no percentage of 0)', () => {
    assert.equal(changeWords({ current: 2, previous: 0, change_pct: null }).text, '▲ from 0');
    assert.equal(changeWords({ current: 0, previous: 0, change_pct: null }).text, 'No change');
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
    assert.match(text, /peak 3 listeners at 1 min 30 s into the space/);
    assert.match(listenersSummary(figures({ listeners_over_time: [], audience: { ...figures().audience, peak_listeners: 0 } })), /nobody listened/);
  });
  it('draws retention from 100 % down, and says it', () => {
    const g = retentionGeometry(figures().retention, 300, 100);
    assert.equal(g.line, 'M0 2 L100 34.7 L200 67.3 L300 100');
    assert.equal(retentionSummary(figures().retention), 'Retention, the share of listeners whose listening time '
      + 'reached each minute, among those who came at least that many minutes before the end: 100% at the start, '
      + '67% after 1 minute, 0% after 3 minutes.');
  });
  it('leaves out of the retention line and table the minutes nobody could have reached', () => {
    const points: RetentionPoint[] = [
      { minute: 0, share: 1, listeners: 2 }, { minute: 1, share: 0.5, listeners: 2 },
      { minute: 2, share: 0, listeners: 0 }, { minute: 3, share: 0, listeners: 0 },
    ];
    // The line ends at minute 1 (a third of the way): no drop to 0 %.
    assert.equal(retentionGeometry(points, 300, 100).line, 'M0 2 L100 51');
    assert.deepEqual(retentionRow(points[1]), ['1 min', '50%', 2]);
    assert.deepEqual(retentionRow(points[2]), ['2 min', '—', 0]);
    const summary = retentionSummary(points);
    assert.match(summary, /100% at the start, 50% after 1 minute\. Past 1 minute nobody came early enough/);
    assert.doesNotMatch(summary, /\b0% after/);
    assert.equal(retentionSummary([{ minute: 0, share: 0, listeners: 0 }]), 'Retention: no listeners.');
    // A gap in the middle starts a new stroke; a lone point still shows.
    const gap = [points[0], points[2], { minute: 3, share: 0.5, listeners: 1 }];
    assert.equal(retentionGeometry(gap, 300, 100).line, 'M0 2 H5 M300 51 H300');
  });
  it('gives times with their units', () => {
    assert.equal(lengthWords(0), '0 s');
    assert.equal(lengthWords(33.6), '33 s');
    assert.equal(lengthWords(725), '12 min 5 s');
    assert.equal(lengthWords(725, true), '12 min');
    assert.equal(lengthWords(3900, true), '1 h 5 min');
  });
  it('scales bars to the longest and names them in order', () => {
    const bars = countBars({ home: 2, link: 1 }, ['link', 'home', 'embed'], { link: 'A link', home: 'Home page', embed: 'Embedded player' });
    assert.deepEqual(barShares(bars), [0.5, 1, 0]);
    assert.equal(barsSummary('How people arrived', bars), 'How people arrived: A link 1, Home page 2, Embedded player 0.');
  });
});

describe('arrivals', () => {
  it('are listed in the API order', () => {
    assert.deepEqual([...ARRIVALS], ['link', 'home', 'notification', 'embed', 'message']);
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
