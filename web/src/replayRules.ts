// Pure rules of replays and clips (no DOM): marker labels, the marker playing now, the listener
// chart's geometry and summary, and the window a clip covers. Tested in test/replay.test.ts.
import { formatClock, plural } from './format';
import type { ListenerCountPoint, SpeakerMarker } from './types';

/** Clips are 1 to 30 s long (POST /api/spaces/{id}/clips). */
export const CLIP_MAX_S = 30;
export const CLIP_MIN_S = 1;

/** "0:42 — @handle": the marker's button text. */
export function markerLabel(marker: SpeakerMarker): string {
  return `${formatClock(marker.at_s)} — @${marker.user.handle}`;
}

/** The marker whose speaker is on at `positionS` (the last one at or before it), or -1. */
export function currentMarkerIndex(markers: readonly SpeakerMarker[], positionS: number): number {
  let index = -1;
  for (let i = 0; i < markers.length; i++) {
    // A seek to a marker may land a hair before it.
    if (markers[i].at_s <= positionS + 0.25) index = i;
    else break;
  }
  return index;
}

const tenths = (s: number) => Math.floor(s * 10 + 1e-6) / 10;

/**
 * The clip "from here": from the position (to a tenth of a second), as long as allowed but
 * not past the end of the recording; null when less than the shortest clip is left.
 */
export function clipFrom(positionS: number, recordingS: number, maxS = CLIP_MAX_S): { start_s: number; duration_s: number } | null {
  if (!Number.isFinite(recordingS) || recordingS <= 0) return null;
  const start = Math.min(Math.max(0, tenths(Number.isFinite(positionS) ? positionS : 0)), recordingS);
  const duration = Math.min(maxS, tenths(recordingS - start));
  return duration >= CLIP_MIN_S ? { start_s: start, duration_s: duration } : null;
}

export interface ListenerChart {
  /** SVG path of the count as steps (it holds until the next point), in a width x height box. */
  line: string;
  /** The same, closed down to the axis, for the fill. */
  area: string;
  /** The top of the scale: the peak, at least 1. */
  yMax: number;
  peak: ListenerCountPoint | null;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** Points in time order, inside the recording. */
function cleanPoints(points: readonly ListenerCountPoint[], durationS: number): ListenerCountPoint[] {
  return points
    .filter((p) => Number.isFinite(p.at_s) && Number.isFinite(p.count))
    .map((p) => ({ at_s: Math.min(Math.max(0, p.at_s), durationS), count: Math.max(0, p.count) }))
    .sort((a, b) => a.at_s - b.at_s);
}

/** The listener count over the recording as a step chart scaled to width x height. */
export function listenerChart(points: readonly ListenerCountPoint[], durationS: number, width: number, height: number): ListenerChart {
  const last = points.length ? Math.max(...points.map((p) => p.at_s)) : 0;
  const span = durationS > 0 ? durationS : Math.max(last, 1);
  const list = cleanPoints(points, span);
  if (!list.length) return { line: '', area: '', yMax: 1, peak: null };
  let peak = list[0];
  for (const p of list) if (p.count > peak.count) peak = p;
  const yMax = Math.max(1, peak.count);
  // 2 px headroom so the line at the peak is not cut by the box.
  const x = (s: number) => r1((s / span) * width);
  const y = (count: number) => r1(height - (count / yMax) * (height - 2));
  let line = `M${x(list[0].at_s)} ${y(list[0].count)}`;
  for (let i = 1; i < list.length; i++) line += ` H${x(list[i].at_s)} V${y(list[i].count)}`;
  line += ` H${r1(width)}`;
  const area = `${line} V${r1(height)} H${x(list[0].at_s)} Z`;
  return { line, area, yMax, peak };
}

/** The time-weighted average count from the first point to the end, rounded. */
export function averageListeners(points: readonly ListenerCountPoint[], durationS: number): number {
  const last = points.length ? Math.max(...points.map((p) => p.at_s)) : 0;
  const end = Math.max(durationS, last);
  const list = cleanPoints(points, end);
  if (!list.length) return 0;
  const spanS = end - list[0].at_s;
  if (spanS <= 0) return Math.round(list[list.length - 1].count);
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const until = i + 1 < list.length ? list[i + 1].at_s : end;
    total += list[i].count * (until - list[i].at_s);
  }
  return Math.round(total / spanS);
}

/** The chart in words: "Listeners while live: peak 12 listeners at 5:03, about 8 on average." */
export function listenerSummary(points: readonly ListenerCountPoint[], durationS: number): string {
  const { peak } = listenerChart(points, durationS, 1, 1);
  if (!peak) return 'No listener counts were kept for this space.';
  const average = averageListeners(points, durationS);
  return `Listeners while live: peak ${plural(peak.count, 'listener', 'listeners')} at ${formatClock(peak.at_s)}, about ${average} on average.`;
}
