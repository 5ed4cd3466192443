// Host analytics (issue 14): a space's figures for its host and co-hosts (/s/{id}/analytics,
// refreshed while the space is live), and a host's spaces over a period against the period
// before (/analytics?days=7|28|90). Aggregates only: the API gives nothing about one person.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, get } from '../api';
import {
  ARRIVAL_NAMES, ARRIVALS, PATH_NAMES, PATHS, PERIOD_DAYS, RETENTION_MEANS, RETENTION_MIN_S, changeWords,
  countBars, lengthWords, listenersGeometry, listenersSummary, retentionGeometry, retentionRow,
  retentionSummary, secondsInto,
  type Bar, type Change, type HostAnalytics, type SpaceAnalytics, type SpaceFigures,
} from '../analyticsRules';
import { BarChart, ChartData, ChartPanel, LineChart } from '../components/AnalyticsCharts';
import { Avatar } from '../components/Avatar';
import { useApp } from '../context';
import { formatSpoken, formatWhen } from '../format';
import { usePageTitle } from '../hooks';
import type { UserBrief } from '../types';
import { SignInPrompt } from './NotFound';

/** While a space is live its figures are asked again this often (the API allows 1/s). */
export const LIVE_REFRESH_MS = 10_000;

type Load<T> =
  | { kind: 'loading' }
  | { kind: 'signin' }
  | { kind: 'missing' }
  | { kind: 'forbidden' }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; value: T };

function loadFailed<T>(err: unknown): Load<T> {
  if (err instanceof ApiError) {
    if (err.status === 401) return { kind: 'signin' };
    if (err.status === 403) return { kind: 'forbidden' };
    if (err.status === 404) return { kind: 'missing' };
  }
  return { kind: 'error', message: errorMessage(err) };
}

/** A headline figure: its name, its value, and what goes under it. */
function Stat({ name, value, testId, children }: {
  name: string; value: ComponentChildren; testId: string; children?: ComponentChildren;
}) {
  return (
    <div class="stat" data-testid={`stat-${testId}`}>
      <dt>{name}</dt>
      <dd>
        <span class="stat-value" data-testid={`stat-${testId}-value`}>{value}</span>
        {children}
      </dd>
    </div>
  );
}

const time = (iso: string | null) => (iso ? <time dateTime={iso}>{formatWhen(iso)}</time> : null);

function Headline({ figures }: { figures: SpaceFigures }) {
  const seen = figures.audience;
  return (
    <dl class="stat-grid" data-testid="headline">
      <Stat name="Unique listeners" value={seen.unique_listeners} testId="unique_listeners">
        <span class="stat-note">with an account</span>
      </Stat>
      <Stat name="Visitors" value={seen.unique_visitors} testId="unique_visitors">
        <span class="stat-note">without an account, counted apart</span>
      </Stat>
      <Stat name="Peak listeners" value={seen.peak_listeners} testId="peak_listeners">
        {seen.peak_at && seen.peak_listeners > 0 && (
          <span class="stat-note">
            {formatSpoken(secondsInto(figures.start, seen.peak_at))} into the space ({time(seen.peak_at)})
          </span>
        )}
      </Stat>
      <Stat name="Total listening time" value={formatSpoken(seen.total_listening_s)} testId="total_listening" />
      <Stat name="Average listening time" value={formatSpoken(seen.average_listening_s)} testId="average_listening">
        <span class="stat-note">per listener</span>
      </Stat>
      <Stat name="Interactions" value={figures.total_interactions} testId="total_interactions">
        <span class="stat-note">reactions, requests, clips, replay plays, shares, follows</span>
      </Stat>
    </dl>
  );
}

function ListenersPanel({ figures }: { figures: SpaceFigures }) {
  const geometry = listenersGeometry(figures, 600, 120);
  const summary = listenersSummary(figures);
  const per = figures.bucket_s === 60 ? 'minute' : formatSpoken(figures.bucket_s);
  const length = secondsInto(figures.start, figures.end);
  return (
    <ChartPanel id="chart-listeners" title="Listeners over time" hint={`The most people there at once, each ${per}.`}>
      <LineChart geometry={geometry} summary={summary} yTop={String(geometry.yMax)}
        xStart={length < 60 ? '0 s' : '0 min'} xEnd={lengthWords(length, true)} testId="listeners-chart" />
      <ChartData caption={`Listeners over time, the most at once each ${per}`} testId="listeners-table"
        head={['Time into the space', 'Listeners']}
        rows={figures.listeners_over_time.map((p) => [lengthWords(secondsInto(figures.start, p.at)), p.listeners])} />
    </ChartPanel>
  );
}

function RetentionPanel({ figures, live }: { figures: SpaceFigures; live: boolean }) {
  const points = figures.retention;
  const last = points.length ? points[points.length - 1].minute : 0;
  const unknown = points.filter((p) => p.listeners === 0);
  const about = `Of the listeners who came at least N minutes before the end, the share whose listening time reached N minutes${live ? ' (the end: now)' : ''}.`;
  if (secondsInto(figures.start, figures.end) < RETENTION_MIN_S || points.length < 2) {
    return (
      <ChartPanel id="chart-retention" title="Retention">
        <p class="hint" data-testid="retention-too-short">
          Too short for a retention curve: it needs a space of at least 2 minutes{live ? ' (this one is still on)' : ''}.
        </p>
      </ChartPanel>
    );
  }
  return (
    <ChartPanel id="chart-retention" title="Retention" hint={about}>
      <LineChart geometry={retentionGeometry(points, 600, 120)} summary={retentionSummary(points)} yTop="100%"
        xStart="0 min" xEnd={`${last} min`} testId="retention-chart" kind="line" />
      {unknown.length > 0 && (
        <p class="hint" data-testid="retention-gap">
          The line stops where nobody came early enough to have listened that long.
        </p>
      )}
      <ChartData caption={`Retention: ${RETENTION_MEANS}`} testId="retention-table"
        head={['Minutes listened', 'Share of listeners', 'Listeners counted']}
        rows={points.map(retentionRow)}
        note={unknown.length > 0
          ? '—: no listener came that many minutes before the end, so there is no share to give.'
          : undefined} />
    </ChartPanel>
  );
}

function BarsPanel({ id, title, hint, bars, head }: {
  id: string; title: string; hint?: string; bars: Bar[]; head: [string, string];
}) {
  return (
    <ChartPanel id={id} title={title} hint={hint}>
      <BarChart title={title} bars={bars} testId={`${id}-chart`} />
      {bars.length > 0 && (
        <ChartData caption={title} head={head} testId={`${id}-table`} rows={bars.map((b) => [b.label, b.shown])} />
      )}
    </ChartPanel>
  );
}

function InteractionsPanel({ figures }: { figures: SpaceFigures }) {
  const acts = figures.interactions;
  const counts: [string, string, number, string?][] = [
    ['requests', 'Requests to speak', acts.requests],
    ['speakers', 'Speakers', acts.speakers, 'heard on stage with the microphone on'],
    ['clips', 'Clips made', acts.clips],
    ['replay_plays', 'Replay plays', acts.replay_plays],
    ['shares', 'Shares', acts.shares],
    ['new_followers', 'New followers', acts.new_followers],
  ];
  const reactions: Bar[] = Object.entries(acts.reactions).map(([emoji, n]) => ({
    key: emoji, label: emoji, value: n, shown: String(n),
  }));
  const reactionTotal = reactions.reduce((sum, b) => sum + b.value, 0);
  return (
    <section aria-labelledby="interactions-title" class="panel analytics-panel" data-testid="interactions">
      <h2 id="interactions-title">Interactions</h2>
      <dl class="stat-grid compact">
        <Stat name="Reactions" value={reactionTotal} testId="reactions" />
        {counts.map(([key, name, n, note]) => (
          <Stat key={key} name={name} value={n} testId={key}>
            {note && <span class="stat-note" data-testid={`stat-${key}-note`}>{note}</span>}
          </Stat>
        ))}
      </dl>
      <h3>Reactions by emoji</h3>
      {reactions.length === 0 ? <p class="hint" data-testid="reactions-chart">No reactions.</p> : (
        <>
          <BarChart title="Reactions by emoji" bars={reactions} testId="reactions-chart" />
          <ChartData caption="Reactions by emoji" head={['Emoji', 'Reactions']} testId="reactions-table"
            rows={reactions.map((b) => [b.label, b.shown])} />
        </>
      )}
    </section>
  );
}

function TalkPanel({ figures, speakers, live }: { figures: SpaceFigures; speakers: UserBrief[]; live: boolean }) {
  const byId = new Map(speakers.map((s) => [s.id, s]));
  const rows = figures.talk.map((t) => ({ talk: t, who: byId.get(t.user_id) ?? null }));
  const bars: Bar[] = rows.map(({ talk, who }) => ({
    key: String(talk.user_id), label: who ? who.display_name : 'Someone', value: talk.talk_s, shown: formatSpoken(talk.talk_s),
  }));
  return (
    <ChartPanel id="chart-talk" title="Talk time" hint="How long each speaker was heard speaking.">
      {rows.length === 0 ? (
        <p class="hint" data-testid="talk-none">
          {live ? 'Nobody has been heard speaking yet.' : 'Nobody was heard speaking.'}
        </p>
      ) : (
        <>
          <BarChart title="Talk time" bars={bars} testId="chart-talk-chart" />
          <ul class="talk-list" data-testid="talk-list">
            {rows.map(({ talk, who }) => (
              <li key={talk.user_id} data-testid="talk" data-user-id={talk.user_id}>
                {who && <Avatar user={who} size="sm" />}
                <span class="talk-who">
                  {who ? <a href={`/u/${who.handle}`}>{who.display_name}</a> : 'Someone'}
                  {who && <span class="handle"> @{who.handle}</span>}
                </span>
                <span class="talk-time">{formatSpoken(talk.talk_s)}</span>
              </li>
            ))}
          </ul>
          <ChartData caption="Talk time by speaker" head={['Speaker', 'Talk time']} testId="chart-talk-table"
            rows={bars.map((b) => [b.label, b.shown])} />
        </>
      )}
    </ChartPanel>
  );
}

/** The space's page in the app, and its analytics' download. */
function SpaceLinks({ spaceId, csv }: { spaceId: number; csv: boolean }) {
  return (
    <p class="actions analytics-links">
      <a href={`/s/${spaceId}`}>Back to the space</a>
      {csv && (
        <a class="button secondary small" href={`/api/spaces/${spaceId}/analytics.csv`} download
          data-testid="analytics-csv">
          Download CSV
        </a>
      )}
    </p>
  );
}

export function SpaceAnalyticsPage({ spaceId }: { spaceId: number }) {
  const { user } = useApp();
  const [state, setState] = useState<Load<SpaceAnalytics>>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const ready = state.kind === 'ready' ? state.value : null;
  const live = !!ready?.live;
  usePageTitle(ready ? `Analytics: ${ready.space.title}` : 'Analytics');

  useEffect(() => {
    if (user === undefined) return undefined;
    let current = true;
    get<{ analytics: SpaceAnalytics }>(`/api/spaces/${spaceId}/analytics`).then(
      (body) => { if (current) setState({ kind: 'ready', value: body.analytics }); },
      (err: unknown) => { if (current) setState(loadFailed(err)); },
    );
    return () => { current = false; };
  }, [spaceId, user, attempt]);

  // Live figures move: asked again every 10 s; a failed refresh keeps the last figures shown.
  const lastRefresh = useRef(0);
  useEffect(() => {
    if (!live) return undefined;
    const timer = window.setInterval(() => {
      lastRefresh.current += 1;
      const mine = lastRefresh.current;
      get<{ analytics: SpaceAnalytics }>(`/api/spaces/${spaceId}/analytics`).then(
        (body) => { if (mine === lastRefresh.current) setState({ kind: 'ready', value: body.analytics }); },
        () => undefined,
      );
    }, LIVE_REFRESH_MS);
    return () => { window.clearInterval(timer); lastRefresh.current += 1; };
  }, [spaceId, live]);

  const heading = (title: string, body: ComponentChildren) => (
    <section aria-labelledby="analytics-title" class="analytics-page">
      <h1 id="analytics-title">{title}</h1>
      {body}
    </section>
  );

  if (user === null || state.kind === 'signin') return heading('Analytics', <SignInPrompt what="to see your spaces’ analytics" />);
  if (state.kind === 'loading') return <p class="loading">Loading…</p>;
  if (state.kind === 'missing') {
    return heading('Space not found', <p>This space does not exist or was deleted. <a href="/analytics">Your analytics</a>.</p>);
  }
  if (state.kind === 'forbidden') {
    return heading('Analytics', (
      <div class="card" data-testid="analytics-forbidden">
        <p>Only the host and co-hosts of this space see its analytics.</p>
        <p><a href={`/s/${spaceId}`}>Go to the space</a> · <a href="/analytics">Your own analytics</a></p>
      </div>
    ));
  }
  if (state.kind === 'error') {
    return heading('Could not load the analytics', (
      <>
        <p>{state.message}</p>
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
      </>
    ));
  }

  const { space, figures } = state.value;
  const seen = figures?.audience;
  return (
    <article aria-labelledby="analytics-title" class="analytics-page" data-testid="space-analytics"
      data-live={live ? 'true' : 'false'}>
      <header class="room-head">
        <p class="eyebrow">Analytics</p>
        <h1 id="analytics-title">{space.title}</h1>
        <p class="meta">
          {live ? (
            <><span class="badge live" data-testid="analytics-live">Live</span> Figures so far, updated every 10 seconds.</>
          ) : space.state === 'ended' ? (
            <span data-testid="analytics-when">
              {space.started_at && <>Started {time(space.started_at)} · </>}
              {space.started_at ? 'ended' : 'Ended'} {time(space.ended_at)}
            </span>
          ) : space.state === 'scheduled' ? <>Scheduled for {time(space.scheduled_for)}</> : <>Canceled</>}
        </p>
        <SpaceLinks spaceId={spaceId} csv={!!figures} />
      </header>
      {!figures || !seen ? (
        <p class="card" data-testid="analytics-empty">No figures yet: they start when the space starts.</p>
      ) : (
        <>
          <p class="hint">Totals only: nobody’s own listening is shown. The host is not counted as a listener.</p>
          <Headline figures={figures} />
          <ListenersPanel figures={figures} />
          <RetentionPanel figures={figures} live={live} />
          <InteractionsPanel figures={figures} />
          <TalkPanel figures={figures} speakers={state.value.speakers} live={live} />
          <div class="analytics-pair">
            <BarsPanel id="chart-arrivals" title="How people arrived" head={['Came from', 'People']}
              hint="Where each person first opened the space."
              bars={countBars(seen.arrivals, ARRIVALS, ARRIVAL_NAMES)} />
            <BarsPanel id="chart-paths" title="How people listened" head={['Path', 'People']}
              hint="Room: in the web client’s room. WebRTC: low latency. HLS: standard streaming (the web client or another player). Someone on two paths counts on both."
              bars={countBars(seen.by_path, PATHS, PATH_NAMES)} />
          </div>
        </>
      )}
    </article>
  );
}

// --- a host's spaces over a period ------------------------------------------------------------

/** A figure of the period with its change against the period before. */
function ChangeStat({ name, testId, value, change, compared, children }: {
  name: string; testId: string; value: ComponentChildren; change: Change | undefined;
  /** False when the period before had no space: said once above the figures instead. */
  compared: boolean; children?: ComponentChildren;
}) {
  const words = changeWords(change);
  return (
    <Stat name={name} value={value} testId={testId}>
      {children}
      {compared && (
        <span class={`change change-${words.direction}`} data-testid={`change-${testId}`} data-direction={words.direction}>
          <span aria-hidden="true">{words.text}</span>
          <span class="sr-only">{words.spoken}</span>
        </span>
      )}
    </Stat>
  );
}

export function HostAnalyticsPage({ days }: { days: number }) {
  const { user } = useApp();
  const [state, setState] = useState<Load<HostAnalytics>>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  usePageTitle('Your analytics');

  useEffect(() => {
    if (!user) return undefined;
    let current = true;
    setState({ kind: 'loading' });
    get<{ analytics: HostAnalytics }>(`/api/me/analytics?days=${days}`).then(
      (body) => { if (current) setState({ kind: 'ready', value: body.analytics }); },
      (err: unknown) => { if (current) setState(loadFailed(err)); },
    );
    return () => { current = false; };
  }, [days, user, attempt]);

  if (user === null || state.kind === 'signin') {
    return (
      <section aria-labelledby="analytics-title">
        <h1 id="analytics-title">Your analytics</h1>
        <SignInPrompt what="to see your spaces’ analytics" />
      </section>
    );
  }
  const found = state.kind === 'ready' ? state.value : null;
  const period = found?.current;
  const changes = found?.changes ?? {};
  const compared = !!found && found.previous.spaces > 0;
  const peakSpace = found?.spaces.find((row) => row.space_id === period?.peak_space_id) ?? null;
  return (
    <section aria-labelledby="analytics-title" class="analytics-page" data-testid="host-analytics">
      <div class="page-head">
        <h1 id="analytics-title">Your analytics</h1>
        <a class="button secondary small" href={`/api/me/analytics.csv?days=${days}`} download data-testid="analytics-csv">
          Download CSV
        </a>
      </div>
      <nav aria-label="Period">
        <ul class="tabs period-tabs">
          {PERIOD_DAYS.map((n) => (
            <li key={n}>
              <a href={`/analytics?days=${n}`} aria-current={n === days ? 'page' : undefined} data-testid={`period-${n}`}>
                <span class="sr-only">Last </span>{n} days
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {state.kind === 'loading' && <p class="loading">Loading…</p>}
      {(state.kind === 'error' || state.kind === 'forbidden' || state.kind === 'missing') && (
        <div>
          <p class="field-error">{state.kind === 'error' ? state.message : 'Your analytics could not be loaded.'}</p>
          <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
        </div>
      )}
      {found && period && (
        <>
          <p class="hint" data-testid="period-range">
            Spaces you hosted that started from {time(period.start)} to {time(period.end)}, compared with the {days} days
            before. Totals only: nobody’s own listening is shown.
          </p>
          {!compared && (
            <p class="hint" data-testid="no-comparison">No spaces in the previous {days} days to compare with.</p>
          )}
          <dl class="stat-grid" data-testid="headline">
            <ChangeStat name="Spaces" testId="spaces" value={period.spaces} change={changes.spaces} compared={compared} />
            <ChangeStat name="Unique listeners" testId="unique_listeners" value={period.unique_listeners}
              change={changes.unique_listeners} compared={compared} />
            <ChangeStat name="Visitors" testId="unique_visitors" value={period.unique_visitors}
              change={changes.unique_visitors} compared={compared} />
            <ChangeStat name="Peak listeners" testId="peak_listeners" value={period.peak_listeners}
              change={changes.peak_listeners} compared={compared}>
              {peakSpace && period.peak_listeners > 0 && (
                <span class="stat-note" data-testid="peak-space">
                  in <a href={`/s/${peakSpace.space_id}/analytics`}>{peakSpace.title}</a>
                </span>
              )}
            </ChangeStat>
            <ChangeStat name="Total listening time" testId="total_listening" value={formatSpoken(period.total_listening_s)}
              change={changes.total_listening_s} compared={compared} />
            <ChangeStat name="Average listening time" testId="average_listening"
              value={formatSpoken(period.average_listening_s)} change={changes.average_listening_s} compared={compared} />
            <ChangeStat name="Interactions" testId="total_interactions" value={period.total_interactions}
              change={changes.total_interactions} compared={compared} />
          </dl>
          <section aria-labelledby="host-spaces-title" class="panel analytics-panel">
            <h2 id="host-spaces-title">Your spaces</h2>
            <p class="hint">Those that started in the last {days} days, the latest first. Open one for its charts.</p>
            {found.spaces.length === 0 ? (
              <p class="hint" data-testid="host-spaces-empty">You hosted no space in this period.</p>
            ) : (
              <div class="table-scroll" role="region" aria-label="Table of your spaces" tabIndex={0}>
                <table class="data-table spaces-table" data-testid="host-spaces">
                  <caption class="sr-only">Your spaces that started in the last {days} days, the latest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Space</th>
                      <th scope="col">Started</th>
                      <th scope="col" class="num">Listeners</th>
                      <th scope="col" class="num">Visitors</th>
                      <th scope="col" class="num">Peak</th>
                      <th scope="col" class="num">Average listening</th>
                      <th scope="col" class="num">Interactions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {found.spaces.map((row) => (
                      <tr key={row.space_id} data-testid="host-space" data-space-id={row.space_id}>
                        <th scope="row">
                          <a href={`/s/${row.space_id}/analytics`}>{row.title}</a>
                          {row.ended_at === null && <> <span class="badge live">Live</span></>}
                        </th>
                        {/* data-label: the column's name, shown beside the value when the rows stack (a phone). */}
                        <td class="when" data-label="Started">{time(row.started_at)}</td>
                        <td class="num" data-label="Listeners">{row.unique_listeners}</td>
                        <td class="num" data-label="Visitors">{row.unique_visitors}</td>
                        <td class="num" data-label="Peak">{row.peak_listeners}</td>
                        <td class="num" data-label="Average listening">{formatSpoken(row.average_listening_s)}</td>
                        <td class="num" data-label="Interactions">{row.total_interactions}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          {period.spaces > 0 && (
            <BarsPanel id="chart-arrivals" title="How people arrived" head={['Came from', 'People']}
              hint="Over all these spaces: where each person first opened each space."
              bars={countBars(period.arrivals, ARRIVALS, ARRIVAL_NAMES)} />
          )}
        </>
      )}
    </section>
  );
}
