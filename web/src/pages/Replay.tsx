import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { get, post } from '../api';
import type { AudioStatus } from '../audioRules';
import { Avatar } from '../components/Avatar';
import { ClipMaker } from '../components/Clips';
import { ListenerChart } from '../components/ListenerChart';
import { ReportDialog } from '../components/ReportDialog';
import { CaptionNow, CaptionToggle, TranscriptDownloads, TranscriptPanel } from '../components/Transcript';
import { lineIndexAt } from '../captions';
import { useApp } from '../context';
import { formatClock, formatSpoken, formatWhen } from '../format';
import { HlsPlayer } from '../hlsPlayer';
import { expiresFromHlsUrl } from '../playback';
import { useLoaded, usePageTitle } from '../hooks';
import { CLIP_MAX_S, clipFrom, currentMarkerIndex, markerLabel } from '../replayRules';
import type { Replay, ReportTarget, SpeakerMarker, Transcript, UserBrief } from '../types';
import { SignInPrompt } from './NotFound';

function Markers({ markers, current, seek }: { markers: SpeakerMarker[]; current: number; seek: (s: number) => void }) {
  return (
    <section aria-labelledby="markers-title" class="panel">
      <h2 id="markers-title">Speakers</h2>
      {markers.length === 0 ? <p class="hint">No speaker changes were marked.</p> : (
        <>
          <p class="hint">Jump to where each speaker started.</p>
          <ol class="markers" data-testid="markers">
            {markers.map((m, i) => (
              <li key={`${m.at_s}-${m.user.id}`}>
                <button type="button" class={`secondary small marker${i === current ? ' is-current' : ''}`}
                  data-testid="marker" data-at={m.at_s} aria-current={i === current ? 'true' : undefined}
                  onClick={() => seek(m.at_s)}>
                  {markerLabel(m)}
                </button>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/**
 * Reporting what was said in the replay: the speaker (the one speaking now, by default) and the
 * playback time when the button is pressed.
 */
function ReportMoment({ replay, current, myId, position, onReport }: {
  replay: Replay; current: number; myId: number; position: () => number; onReport: (target: ReportTarget) => void;
}) {
  const speakers: UserBrief[] = [];
  for (const u of [replay.space.host, ...replay.markers.map((m) => m.user)]) {
    if (u.id !== myId && !speakers.some((s) => s.id === u.id)) speakers.push(u);
  }
  const now = current >= 0 ? replay.markers[current].user : replay.space.host;
  const [chosen, setChosen] = useState<number | null>(null);
  const speakerId = chosen ?? (speakers.some((s) => s.id === now.id) ? now.id : speakers[0]?.id);
  const speaker = speakers.find((s) => s.id === speakerId);
  if (!speaker && replay.space.host.id === myId) return null;
  return (
    <section aria-labelledby="report-title" class="panel report-panel">
      <h2 id="report-title">Report</h2>
      {speaker && (
        <>
          <p class="hint" id="report-moment-hint">
            Heard something that breaks the rules? Pause where it was said, then report that moment: the minute
            before it goes to the moderators.
          </p>
          <div class="report-moment">
            <div class="field">
              <label for="report-speaker">Who said it</label>
              <select id="report-speaker" value={String(speaker.id)}
                onChange={(e) => setChosen(Number(e.currentTarget.value))}>
                {speakers.map((s) => <option key={s.id} value={String(s.id)}>{s.display_name} (@{s.handle})</option>)}
              </select>
            </div>
            <button type="button" class="danger-outline" data-testid="report-replay-moment" aria-describedby="report-moment-hint"
              onClick={() => onReport({ kind: 'moment', user: speaker, spaceId: replay.space.id, atS: position() })}>
              Report this moment
            </button>
          </div>
        </>
      )}
      {replay.space.host.id !== myId && (
        <p>
          <button type="button" class="link-button" data-testid="report-replay-space"
            onClick={() => onReport({ kind: 'space', space: replay.space })}>
            Report the whole space
          </button>
        </p>
      )}
    </section>
  );
}

/** The replay's <audio controls>, fed by hls.js (or Safari's own HLS). */
function usePlayer(spaceId: number, playlistUrl: string | null) {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [positionS, setPositionS] = useState(0);
  const [status, setStatus] = useState<AudioStatus>('off');
  const pendingSeek = useRef<number | null>(null);

  useEffect(() => {
    const element = audioRef.current;
    if (!element || !playlistUrl) return undefined;
    const player = new HlsPlayer({
      element,
      live: false,
      // The playlist's URL is signed and expires: a fresh one before then, and after a failure.
      refresh: async () => {
        const body = await get<{ replay: Replay }>(`/api/spaces/${spaceId}/replay`);
        return { url: body.replay.playlist_url, expiresAt: expiresFromHlsUrl(body.replay.playlist_url) };
      },
      onStatus: setStatus,
    });
    player.start({ url: playlistUrl, expiresAt: expiresFromHlsUrl(playlistUrl) });
    const onTime = () => setPositionS(element.currentTime);
    const onMetadata = () => {
      if (pendingSeek.current !== null) {
        element.currentTime = pendingSeek.current;
        pendingSeek.current = null;
      }
    };
    // The host's analytics count replay plays: said once, when this page's player first plays
    // (the server counts a listener once per half hour; a failure only loses the count).
    let counted = false;
    const onPlaying = () => {
      if (counted) return;
      counted = true;
      post(`/api/spaces/${spaceId}/replay/plays`).catch(() => undefined);
    };
    element.addEventListener('timeupdate', onTime);
    element.addEventListener('seeked', onTime);
    element.addEventListener('loadedmetadata', onMetadata);
    element.addEventListener('playing', onPlaying);
    return () => {
      element.removeEventListener('playing', onPlaying);
      element.removeEventListener('timeupdate', onTime);
      element.removeEventListener('seeked', onTime);
      element.removeEventListener('loadedmetadata', onMetadata);
      player.destroy();
    };
  }, [spaceId, playlistUrl]);

  const seek = useCallback((s: number) => {
    const element = audioRef.current;
    if (!element) return;
    setPositionS(s);
    // Before the playlist is read the element cannot seek: do it once it can.
    if (element.readyState < HTMLMediaElement.HAVE_METADATA) pendingSeek.current = s;
    else element.currentTime = s;
    if (element.paused) void element.play().catch(() => undefined);
  }, []);

  const position = useCallback(() => audioRef.current?.currentTime ?? positionS, [positionS]);

  return { audioRef, positionS, status, seek, position };
}

/** The replay's transcript once asked (only when the space was captioned); null: none to show. */
function useTranscript(spaceId: number, wanted: boolean): Transcript | null {
  const [transcript, setTranscript] = useState<Transcript | null>(null);
  useEffect(() => {
    setTranscript(null);
    if (!wanted) return undefined;
    let active = true;
    get<{ transcript: Transcript }>(`/api/spaces/${spaceId}/transcript`).then(
      (body) => { if (active) setTranscript(body.transcript); },
      // 403/404 (not for this viewer) or a failure: the replay plays without it.
      () => { if (active) setTranscript(null); },
    );
    return () => { active = false; };
  }, [spaceId, wanted]);
  return transcript;
}

export function ReplayPage({ spaceId }: { spaceId: number }) {
  const { user } = useApp();
  const [loaded, load] = useLoaded<{ replay: Replay }>(`/api/spaces/${spaceId}/replay`, user);
  const phase = loaded.kind === 'ready' ? { kind: 'ready' as const, replay: loaded.value.replay } : loaded;
  const replay = phase.kind === 'ready' ? phase.replay : null;
  usePageTitle(replay ? `Replay: ${replay.space.title}` : 'Replay');
  const { audioRef, positionS, status, seek, position } = usePlayer(spaceId, replay?.playlist_url ?? null);
  const transcript = useTranscript(spaceId, !!replay?.has_transcript);
  const [reporting, setReporting] = useState<ReportTarget | null>(null);

  if (phase.kind === 'loading') return <p class="loading">Loading…</p>;
  if (phase.kind === 'signin') {
    return (
      <section aria-labelledby="replay-title">
        <h1 id="replay-title">Replay</h1>
        <SignInPrompt what="to listen to this replay" />
      </section>
    );
  }
  if (phase.kind === 'missing') {
    return (
      <section aria-labelledby="replay-title">
        <h1 id="replay-title">No replay</h1>
        <p>This space has no published replay. <a href={`/s/${spaceId}`}>Go to the space</a>.</p>
      </section>
    );
  }
  if (phase.kind === 'error') {
    return (
      <section aria-labelledby="replay-title">
        <h1 id="replay-title">Could not open this replay</h1>
        <p>{phase.message}</p>
        <button type="button" onClick={load}>Try again</button>
      </section>
    );
  }

  const r = phase.replay;
  const space = r.space;
  const current = currentMarkerIndex(r.markers, positionS);
  const lines = transcript?.lines ?? [];
  const lineIndex = lineIndexAt(lines, positionS);
  const line = lineIndex >= 0 ? lines[lineIndex] : null;
  const language = transcript?.language ?? space.caption_language ?? 'en';
  const clipWindow = clipFrom(positionS, r.duration_s);
  const clipHint = clipWindow
    ? (clipWindow.duration_s < CLIP_MAX_S
      ? `From ${formatClock(clipWindow.start_s)}, ${formatSpoken(clipWindow.duration_s)} to the end.`
      : `From ${formatClock(clipWindow.start_s)}.`)
    : 'Less than a second is left: move back to clip.';

  return (
    <article aria-labelledby="replay-title" class="replay" data-testid="replay">
      <header class="room-head">
        <p class="eyebrow">Replay</p>
        <h1 id="replay-title">{space.title}</h1>
        <p class="meta">
          Hosted by <Avatar user={space.host} size="sm" />
          <a href={`/u/${space.host.handle}`}>{space.host.display_name}</a>
          <span class="handle"> @{space.host.handle}</span>
          {space.started_at && <> · {formatWhen(space.started_at)}</>}
          {' '}· {formatSpoken(r.duration_s)}
        </p>
        {!r.published && (
          <p class="hint" data-testid="replay-unpublished">Not published: only you can hear this replay.</p>
        )}
        {user && user.id === space.host.id && (
          <p><a href={`/s/${space.id}/analytics`} data-testid="replay-analytics">See the analytics</a></p>
        )}
      </header>

      <div class={transcript && lines.length > 0 ? 'replay-grid' : undefined}>
      <section aria-labelledby="player-title" class="panel replay-player">
        <h2 id="player-title">Listen</h2>
        <audio ref={audioRef} controls preload="metadata" class="replay-audio" data-testid="replay-audio"
          data-status={status} aria-label={`Replay of ${space.title}`} />
        {transcript && lines.length > 0 && (
          <>
            <CaptionNow line={line} language={language} />
            <CaptionToggle sizeId="replay-caption-size" />
          </>
        )}
        <p class="hint" data-testid="replay-position">
          At {formatClock(positionS)} of {formatClock(r.duration_s)}
        </p>
        {status === 'unavailable' && <p class="field-error" role="alert">The replay could not be loaded.</p>}
        {space.record ? (
          <ClipMaker spaceId={space.id} label="Clip 30 s from here" testId="clip-from-here"
            hint={r.published ? clipHint : `${clipHint} Clips stay private to you until you publish the replay.`}
            request={() => clipFrom(position(), r.duration_s)} />
        ) : (
          <p class="hint" data-testid="clip-record-off">You chose not to record this space for a replay, so it cannot be clipped.</p>
        )}
      </section>
      {transcript && lines.length > 0 && (
        <TranscriptPanel lines={lines} currentId={line ? line.id : null} language={language} seek={seek}
          idPrefix="replay-transcript"
          downloads={transcript.downloadable ? <TranscriptDownloads spaceId={space.id} /> : undefined} />
      )}
      </div>

      <Markers markers={r.markers} current={current} seek={seek} />
      <ListenerChart points={r.listener_counts} durationS={r.duration_s} />
      {user && (
        <ReportMoment replay={r} current={current} myId={user.id} position={position} onReport={setReporting} />
      )}
      {reporting && <ReportDialog target={reporting} onClose={() => setReporting(null)} />}
      <p><a href={`/s/${space.id}`}>Go to the space</a></p>
    </article>
  );
}
