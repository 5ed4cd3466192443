// Unit tests for the replay and clip rules (src/replayRules.ts) and the time and size words
// (src/format.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatClock, formatSpoken } from '../src/format';
import {
  averageListeners,
  clipFrom,
  currentMarkerIndex,
  listenerChart,
  listenerSummary,
  markerLabel,
} from '../src/replayRules';
import type { SpeakerMarker } from '../src/types';

const user = (id: number, handle: string) => ({ id, handle, display_name: handle, avatar_url: null });

describe('formatClock', () => {
  it('writes minutes and seconds, hours when there are any', () => {
    assert.equal(formatClock(0), '0:00');
    assert.equal(formatClock(42.9), '0:42');
    assert.equal(formatClock(725), '12:05');
    assert.equal(formatClock(3723), '1:02:03');
  });
  it('treats junk as zero', () => {
    assert.equal(formatClock(-3), '0:00');
    assert.equal(formatClock(Number.NaN), '0:00');
  });
});

describe('formatSpoken', () => {
  it('writes lengths in words', () => {
    assert.equal(formatSpoken(30), '30 s');
    assert.equal(formatSpoken(0), '0 s');
    assert.equal(formatSpoken(120), '2 min');
    assert.equal(formatSpoken(3723), '1 h 2 min 3 s');
  });
});

describe('formatBytes', () => {
  it('uses SI units with one decimal below 10', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1500), '1.5 kB');
    assert.equal(formatBytes(2_000_000), '2 MB');
    assert.equal(formatBytes(12_345_678), '12 MB');
    assert.equal(formatBytes(999_600), '1 MB');
    assert.equal(formatBytes(-1), '0 B');
  });
});

describe('markers', () => {
  const markers: SpeakerMarker[] = [
    { at_s: 0, user: user(1, 'hana') },
    { at_s: 42, user: user(2, 'bob') },
    { at_s: 3725, user: user(1, 'hana') },
  ];
  it('labels a marker with its time and handle', () => {
    assert.equal(markerLabel(markers[1]), '0:42 — @bob');
    assert.equal(markerLabel(markers[2]), '1:02:05 — @hana');
  });
  it('finds the speaker on at a position', () => {
    assert.equal(currentMarkerIndex(markers, 10), 0);
    assert.equal(currentMarkerIndex(markers, 41.9), 1); // a seek lands a hair early
    assert.equal(currentMarkerIndex(markers, 100), 1);
    assert.equal(currentMarkerIndex(markers, 4000), 2);
    assert.equal(currentMarkerIndex(markers.slice(1), 5), -1);
    assert.equal(currentMarkerIndex([], 5), -1);
  });
});

describe('clipFrom', () => {
  it('clips 30 s from the position', () => {
    assert.deepEqual(clipFrom(61.27, 600), { start_s: 61.2, duration_s: 30 });
  });
  it('stops at the end of the recording', () => {
    assert.deepEqual(clipFrom(580, 600), { start_s: 580, duration_s: 20 });
    assert.deepEqual(clipFrom(70.3, 100), { start_s: 70.3, duration_s: 29.7 });
  });
  it('refuses less than a second', () => {
    assert.equal(clipFrom(99.5, 100), null);
    assert.equal(clipFrom(200, 100), null);
    assert.equal(clipFrom(0, 0), null);
  });
  it('clamps a position before the start', () => {
    assert.deepEqual(clipFrom(-4, 10), { start_s: 0, duration_s: 10 });
  });
});

describe('listenerChart', () => {
  const points = [
    { at_s: 0, count: 2 },
    { at_s: 50, count: 4 },
    { at_s: 75, count: 1 },
  ];
  it('draws the count as steps across the recording, scaled to the peak', () => {
    const chart = listenerChart(points, 100, 200, 50);
    assert.equal(chart.yMax, 4);
    assert.deepEqual(chart.peak, { at_s: 50, count: 4 });
    assert.equal(chart.line, 'M0 26 H100 V2 H150 V38 H200');
    assert.equal(chart.area, 'M0 26 H100 V2 H150 V38 H200 V50 H0 Z');
  });
  it('sorts points and keeps them inside the recording', () => {
    const chart = listenerChart([{ at_s: 150, count: 3 }, { at_s: 20, count: 1 }], 100, 100, 10);
    assert.equal(chart.line, 'M20 7.3 H100 V2 H100');
  });
  it('has a scale of at least one and nothing to draw without points', () => {
    assert.equal(listenerChart([{ at_s: 0, count: 0 }], 10, 100, 10).yMax, 1);
    assert.deepEqual(listenerChart([], 10, 100, 10), { line: '', area: '', yMax: 1, peak: null });
  });
});

describe('listener summary', () => {
  it('weighs the average by time', () => {
    assert.equal(averageListeners([{ at_s: 0, count: 2 }, { at_s: 50, count: 4 }, { at_s: 75, count: 1 }], 100), 2);
    assert.equal(averageListeners([{ at_s: 0, count: 10 }, { at_s: 90, count: 0 }], 100), 9);
    assert.equal(averageListeners([], 100), 0);
  });
  it('says the peak in words', () => {
    assert.equal(
      listenerSummary([{ at_s: 0, count: 3 }, { at_s: 303, count: 12 }, { at_s: 400, count: 1 }], 600),
      'Listeners while live: peak 12 listeners at 5:03, about 4 on average.',
    );
    assert.equal(listenerSummary([{ at_s: 0, count: 1 }], 60), 'Listeners while live: peak 1 listener at 0:00, about 1 on average.');
    assert.equal(listenerSummary([], 60), 'No listener counts were kept for this space.');
  });
});
