// The analytics pages' charts: inline SVG drawn here (no chart library), each one an image named
// by its summary (role="img", aria-label) with its data as a real table under it.
import type { ComponentChildren } from 'preact';
import { barShares, barsSummary, type Bar, type LineGeometry } from '../analyticsRules';

const WIDTH = 600;
const HEIGHT = 120;

/** The data of a chart: a table with its caption, folded under "Show the data". */
export function ChartData({ caption, head, rows, testId, note }: {
  caption: string;
  head: string[];
  rows: ComponentChildren[][];
  testId: string;
  /** A line under the table (what a mark in it means). */
  note?: string;
}) {
  return (
    <details class="chart-data">
      <summary>Show the data</summary>
      {/* Scrolls when long: reachable by keyboard (axe: scrollable-region-focusable). */}
      <div class="table-scroll" role="region" aria-label={`The data: ${caption}`} tabIndex={0}>
        <table class="data-table" data-testid={testId}>
          <caption>{caption}</caption>
          <thead>
            <tr>{head.map((h, i) => <th key={h} scope="col" class={i ? 'num' : undefined}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={r}>
                {row.map((cell, i) => (i === 0
                  ? <th key={i} scope="row">{cell}</th>
                  : <td key={i} class="num">{cell}</td>))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {note && <p class="hint" data-testid={`${testId}-note`}>{note}</p>}
    </details>
  );
}

/** A line or step chart (listeners over time, retention) with its scale's ends in words. */
export function LineChart({ geometry, summary, yTop, xStart, xEnd, testId, kind = 'area' }: {
  geometry: LineGeometry;
  summary: string;
  /** The top of the scale, shown at the top left ("12", "100%"). */
  yTop: string;
  xStart: string;
  xEnd: string;
  testId: string;
  kind?: 'area' | 'line';
}) {
  return (
    <figure class="analytics-chart" data-testid={testId}>
      <div class="chart-box">
        <span class="chart-ymax" aria-hidden="true">{yTop}</span>
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={summary}
          focusable="false" data-testid={`${testId}-svg`}>
          <line class="chart-axis" x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} vector-effect="non-scaling-stroke" />
          {kind === 'area' && geometry.area && <path class="chart-area" d={geometry.area} />}
          {geometry.line && <path class="chart-line" d={geometry.line} vector-effect="non-scaling-stroke" />}
        </svg>
      </div>
      <div class="chart-times" aria-hidden="true">
        <span>{xStart}</span>
        <span>{xEnd}</span>
      </div>
    </figure>
  );
}

const ROW_PX = 30;
const LABEL_CHARS = 16;
/** Where the bars start, in percent of the box (the labels are left of it). */
const BARS_AT = 45;

const clipped = (text: string) => (Array.from(text).length > LABEL_CHARS
  ? `${Array.from(text).slice(0, LABEL_CHARS - 1).join('')}…` : text);

/**
 * Horizontal bars, one row each: the label, the bar, the value at the right edge. Lengths in
 * percent of the box, so the text keeps its size at any width; a long label is shortened (the
 * table has it whole). The values' room is reserved from their longest text (about 2.6 % a
 * character on a phone, more than enough wider).
 */
export function BarChart({ title, bars, testId }: { title: string; bars: Bar[]; testId: string }) {
  const shares = barShares(bars);
  const summary = barsSummary(title, bars);
  const valueRoom = Math.min(30, 3 + 2.6 * Math.max(1, ...bars.map((b) => b.shown.length)));
  const barRoom = 100 - BARS_AT - valueRoom;
  if (bars.length === 0) return <p class="hint" data-testid={testId}>{summary}</p>;
  return (
    <svg class="bar-chart" width="100%" height={bars.length * ROW_PX} role="img" aria-label={summary}
      focusable="false" data-testid={testId}>
      {bars.map((bar, i) => {
        const y = i * ROW_PX;
        return (
          <g key={bar.key}>
            <text class="bar-label" x="0" y={y + 20}>{clipped(bar.label)}</text>
            <rect class="bar-track" x={`${BARS_AT}%`} y={y + 6} width={`${barRoom}%`} height="18" rx="3" />
            <rect class="bar" x={`${BARS_AT}%`} y={y + 6} width={`${shares[i] * barRoom}%`} height="18" rx="3" />
            <text class="bar-value" x="100%" y={y + 20} text-anchor="end">{bar.shown}</text>
          </g>
        );
      })}
    </svg>
  );
}

/** A chart's panel: its heading, a line about it, the chart and its data. */
export function ChartPanel({ id, title, hint, children }: {
  id: string; title: string; hint?: ComponentChildren; children: ComponentChildren;
}) {
  return (
    <section aria-labelledby={`${id}-title`} class="panel analytics-panel" data-testid={id}>
      <h2 id={`${id}-title`}>{title}</h2>
      {hint && <p class="hint">{hint}</p>}
      {children}
    </section>
  );
}
