import { formatClock } from '../format';
import { listenerChart, listenerSummary } from '../replayRules';
import type { ListenerCountPoint } from '../types';

const WIDTH = 600;
const HEIGHT = 96;

/** Listeners over the recording: a small step chart, named by its summary, and the summary in text. */
export function ListenerChart({ points, durationS }: { points: ListenerCountPoint[]; durationS: number }) {
  const chart = listenerChart(points, durationS, WIDTH, HEIGHT);
  const summary = listenerSummary(points, durationS);
  return (
    <section aria-labelledby="audience-title" class="panel">
      <h2 id="audience-title">Audience</h2>
      {chart.peak ? (
        <figure class="listener-chart" data-testid="listener-chart">
          <div class="chart-box">
            <span class="chart-ymax" aria-hidden="true">{chart.yMax}</span>
            <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img"
              aria-labelledby="listener-chart-title" focusable="false">
              <title id="listener-chart-title">{`Listeners over time. ${summary}`}</title>
              <line class="chart-axis" x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} vector-effect="non-scaling-stroke" />
              <path class="chart-area" d={chart.area} />
              <path class="chart-line" d={chart.line} vector-effect="non-scaling-stroke" />
            </svg>
          </div>
          <div class="chart-times" aria-hidden="true">
            <span>0:00</span>
            <span>{formatClock(durationS)}</span>
          </div>
          <figcaption data-testid="listener-summary" data-peak={chart.peak.count}>{summary}</figcaption>
        </figure>
      ) : (
        <p class="hint" data-testid="listener-summary">{summary}</p>
      )}
    </section>
  );
}
