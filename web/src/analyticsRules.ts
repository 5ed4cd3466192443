// Host analytics (issue 14, docs/analytics.md): the API's shapes and the pure rules of the
// analytics pages (no DOM): how a person came (the `via` hint the room passes on), the charts'
// geometry and the words that summarize them, and a figure's change against the period before.
// Tested in test/analytics.test.ts.
import { formatSpoken, plural } from './format';
import type { Space, UserBrief } from './types';

// --- the API (src/parley/domain/analytics.py) -----------------------------------------------

export interface CountAt { at: string; listeners: number }
/**
 * After `minute` minutes: of the `listeners` who came at least that long before the end (so
 * could have listened that long), the share (0..1) whose listening time reached it. With no
 * such listener the share means nothing (the API gives 0).
 */
export interface RetentionPoint { minute: number; share: number; listeners: number }
export interface SpeakerTime { user_id: number; talk_s: number }

export interface Interactions {
  reactions: Record<string, number>;
  requests: number;
  speakers: number;
  clips: number;
  replay_plays: number;
  shares: number;
  new_followers: number;
}

export interface Audience {
  unique_listeners: number;
  unique_visitors: number;
  by_path: Record<string, number>;
  peak_listeners: number;
  peak_at: string | null;
  total_listening_s: number;
  average_listening_s: number;
  arrivals: Record<string, number>;
}

export interface SpaceFigures {
  start: string;
  end: string;
  audience: Audience;
  listeners_over_time: CountAt[];
  bucket_s: number;
  retention: RetentionPoint[];
  interactions: Interactions;
  total_interactions: number;
  talk: SpeakerTime[];
}

/** GET /api/spaces/{id}/analytics -> {analytics}. */
export interface SpaceAnalytics {
  space: Space;
  live: boolean;
  /** null before the space started. */
  figures: SpaceFigures | null;
  /** The people `figures.talk` names. */
  speakers: UserBrief[];
}

export interface PeriodFigures {
  start: string;
  end: string;
  spaces: number;
  unique_listeners: number;
  unique_visitors: number;
  peak_listeners: number;
  peak_space_id: number | null;
  total_listening_s: number;
  average_listening_s: number;
  interactions: Interactions;
  total_interactions: number;
  arrivals: Record<string, number>;
}

export interface Change { current: number; previous: number; change_pct: number | null }

export interface SpaceRow {
  space_id: number;
  title: string;
  started_at: string;
  ended_at: string | null;
  unique_listeners: number;
  unique_visitors: number;
  peak_listeners: number;
  average_listening_s: number;
  total_interactions: number;
}

/** GET /api/me/analytics -> {analytics}. */
export interface HostAnalytics {
  current: PeriodFigures;
  previous: PeriodFigures;
  changes: Record<string, Change>;
  spaces: SpaceRow[];
}

// --- how people came --------------------------------------------------------------------------

/** How a person came to a space (the server's `Arrival`), in the API's order. */
export const ARRIVALS = ['link', 'home', 'notification', 'embed', 'message'] as const;
export type Arrival = (typeof ARRIVALS)[number];

export const ARRIVAL_NAMES: Record<Arrival, string> = {
  link: 'A link',
  home: 'Home page',
  notification: 'Notification',
  embed: 'Embedded player',
  message: 'Message',
};

export const PATHS = ['room', 'webrtc', 'hls'] as const;
export const PATH_NAMES: Record<(typeof PATHS)[number], string> = {
  room: 'Room',
  webrtc: 'WebRTC',
  hls: 'HLS',
};

/** One of the arrivals the server knows, or null. */
export function arrivalOf(value: string | null): Arrival | null {
  return value && (ARRIVALS as readonly string[]).includes(value) ? (value as Arrival) : null;
}

/** The `via` a space's page was opened with (`?via=home`), or null (the server counts a link). */
export function viaOf(search: string): Arrival | null {
  return arrivalOf(new URLSearchParams(search).get('via'));
}

/** The query that tells the server how the person came, for a URL with no query yet. */
export function viaQuery(via: Arrival | null): string {
  return via ? `?via=${via}` : '';
}

/**
 * A link into the app with how the person came: a space's page (`/s/{id}`) gets `?via=`;
 * anything else (a profile, a replay, the settings) is left as it is.
 */
export function withVia(link: string, via: Arrival): string {
  const url = new URL(link, 'http://x');
  if (!/^\/s\/\d+\/?$/.test(url.pathname) || url.searchParams.has('via')) return link;
  url.searchParams.set('via', via);
  return url.pathname + url.search + url.hash;
}

// --- figures in words -------------------------------------------------------------------------

/** A share (0..1) as a whole percent: "75%". */
export function percent(share: number): string {
  return `${Math.round((Number.isFinite(share) ? share : 0) * 100)}%`;
}

/** A change against the period before, for its arrow and its words. */
export interface ChangeWords {
  direction: 'up' | 'down' | 'same' | 'none';
  /** What shows: "▲ 12.5%", "No change", "No earlier data". */
  text: string;
  /** What a screen reader hears: "up 12.5% on the previous period". */
  spoken: string;
}

export function changeWords(change: Change | undefined): ChangeWords {
  if (!change) return { direction: 'none', text: 'No earlier data', spoken: 'no earlier data to compare with' };
  if (change.change_pct === null) {
    // No percentage from 0: the API gives none when the figure was 0 before.
    if (change.current > 0) return { direction: 'up', text: '▲ from 0', spoken: 'up from 0 in the previous period' };
    return { direction: 'same', text: 'No change', spoken: 'no change on the previous period' };
  }
  const pct = change.change_pct;
  const size = `${Math.abs(pct).toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;
  if (pct > 0) return { direction: 'up', text: `▲ ${size}`, spoken: `up ${size} on the previous period` };
  if (pct < 0) return { direction: 'down', text: `▼ ${size}`, spoken: `down ${size} on the previous period` };
  return { direction: 'same', text: 'No change', spoken: 'no change on the previous period' };
}

/**
 * A time into a space with its units, for an axis's end or a table: "0 s", "33 s", "12 min",
 * "1 h 5 min". Past a minute the seconds are left out when `rough` (an axis label).
 */
export function lengthWords(seconds: number, rough = false): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  if (!rough || total < 60) return formatSpoken(total);
  return formatSpoken(total - (total % 60));
}

/** Seconds since `startIso` at `iso` (0 when either is missing or bad). */
export function secondsInto(startIso: string, iso: string | null): number {
  if (!iso) return 0;
  const s = (Date.parse(iso) - Date.parse(startIso)) / 1000;
  return Number.isFinite(s) && s > 0 ? s : 0;
}

/** A retention table's row: the minute, the share (or "—" with nobody to count), the listeners counted. */
export function retentionRow(point: RetentionPoint): [string, string, number] {
  return [`${point.minute} min`, point.listeners > 0 ? percent(point.share) : '—', point.listeners];
}

/** The listeners-over-time chart in words. */
export function listenersSummary(figures: SpaceFigures): string {
  const points = figures.listeners_over_time;
  const length = formatSpoken(secondsInto(figures.start, figures.end));
  if (points.length === 0 || figures.audience.peak_listeners === 0) {
    return `Listeners over time: nobody listened over ${length}.`;
  }
  const peakAt = formatSpoken(secondsInto(figures.start, figures.audience.peak_at));
  const per = figures.bucket_s === 60 ? 'minute' : formatSpoken(figures.bucket_s);
  return `Listeners over time, the most at once each ${per} over ${length}: peak `
    + `${plural(figures.audience.peak_listeners, 'listener', 'listeners')} at ${peakAt} into the space.`;
}

/** A space shorter than this has no retention curve (two minute marks at most). */
export const RETENTION_MIN_S = 120;

/** The points that say something: those with listeners who could have listened that long. */
export function retentionKnown(points: readonly RetentionPoint[]): RetentionPoint[] {
  return points.filter((p) => p.listeners > 0);
}

/** What the retention curve measures, for its caption and its summary. */
export const RETENTION_MEANS = 'the share of listeners whose listening time reached each minute, '
  + 'among those who came at least that many minutes before the end';

/** The retention curve in words: the start, a few marks, the last minute with listeners. */
export function retentionSummary(all: readonly RetentionPoint[]): string {
  const points = retentionKnown(all);
  if (points.length === 0) return 'Retention: no listeners.';
  const last = points[points.length - 1];
  const parts = [`${percent(points[0].share)} at the start`];
  for (const minute of [1, 5, 10, 30, 60]) {
    const point = points.find((p) => p.minute === minute);
    if (point && point !== last) parts.push(`${percent(point.share)} after ${plural(minute, 'minute', 'minutes')}`);
  }
  if (last !== points[0]) parts.push(`${percent(last.share)} after ${plural(last.minute, 'minute', 'minutes')}`);
  let text = `Retention, ${RETENTION_MEANS}: ${parts.join(', ')}.`;
  if (points.length < all.length) {
    text += ` Past ${plural(last.minute, 'minute', 'minutes')} nobody came early enough to have listened that long.`;
  }
  return text;
}

export interface Bar { key: string; label: string; value: number; shown: string }

/** A bar chart in words: "How people arrived: A link 1, Home page 2." */
export function barsSummary(title: string, bars: readonly Bar[]): string {
  if (bars.length === 0) return `${title}: none.`;
  return `${title}: ${bars.map((b) => `${b.label} ${b.shown}`).join(', ')}.`;
}

// --- chart geometry ---------------------------------------------------------------------------

const r1 = (n: number) => Math.round(n * 10) / 10;

export interface LineGeometry { line: string; area: string; yMax: number }

/**
 * Listeners over time as steps (a bucket's count holds until the next bucket), from the space's
 * start to its end, scaled into a width x height box.
 */
export function listenersGeometry(figures: SpaceFigures, width: number, height: number): LineGeometry {
  const spanS = Math.max(secondsInto(figures.start, figures.end), 1);
  const points = figures.listeners_over_time;
  const yMax = Math.max(1, ...points.map((p) => p.listeners));
  if (points.length === 0) return { line: '', area: '', yMax };
  const x = (s: number) => r1((Math.min(s, spanS) / spanS) * width);
  // 2 px headroom so the line at the peak is not cut by the box.
  const y = (n: number) => r1(height - (n / yMax) * (height - 2));
  const first = secondsInto(figures.start, points[0].at);
  let line = `M${x(first)} ${y(points[0].listeners)}`;
  for (let i = 1; i < points.length; i++) {
    line += ` H${x(secondsInto(figures.start, points[i].at))} V${y(points[i].listeners)}`;
  }
  line += ` H${r1(width)}`;
  return { line, area: `${line} V${r1(height)} H${x(first)} Z`, yMax };
}

/**
 * The retention curve (0..100 % against minutes) as a line, in a width x height box, the x axis
 * to the space's last minute. A minute nobody could have reached is left out: the line stops
 * there (a 0 % would read as everyone having left), and starts again after a gap, if ever.
 */
export function retentionGeometry(points: readonly RetentionPoint[], width: number, height: number): LineGeometry {
  if (points.length === 0) return { line: '', area: '', yMax: 1 };
  const lastMinute = Math.max(points[points.length - 1].minute, 1);
  const x = (m: number) => r1((m / lastMinute) * width);
  const y = (share: number) => r1(height - Math.min(Math.max(share, 0), 1) * (height - 2));
  const runs: RetentionPoint[][] = [];
  let run: RetentionPoint[] = [];
  for (const point of points) {
    if (point.listeners > 0) {
      run.push(point);
    } else if (run.length) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length) runs.push(run);
  const line = runs.map((r) => r.map((p, i) => `${i ? 'L' : 'M'}${x(p.minute)} ${y(p.share)}`).join(' ')
    // A lone point: a short flat stroke, so that it shows.
    + (r.length === 1 ? ` H${r1(Math.min(x(r[0].minute) + width / 60, width))}` : '')).join(' ');
  return { line, area: '', yMax: 1 };
}

/** Each bar's length as a share of the longest (0..1). */
export function barShares(bars: readonly Bar[]): number[] {
  const most = Math.max(0, ...bars.map((b) => b.value));
  return bars.map((b) => (most > 0 ? Math.max(0, b.value) / most : 0));
}

/** Counts by key as bars, in the given order of keys (missing keys count 0). */
export function countBars(counts: Record<string, number>, keys: readonly string[], names: Record<string, string>): Bar[] {
  return keys.map((key) => {
    const value = counts[key] ?? 0;
    return { key, label: names[key] ?? key, value, shown: String(value) };
  });
}

/** The period picker's choices (GET /api/me/analytics?days=). */
export const PERIOD_DAYS = [7, 28, 90] as const;

/** `?days=` of the host's page, one of the choices (28 by default). */
export function periodDays(search: string): number {
  const days = Number(new URLSearchParams(search).get('days'));
  return (PERIOD_DAYS as readonly number[]).includes(days) ? days : 28;
}
