// Captions of a recording (docs/captions.md): the line playing now under the player, the CC
// toggle, and the transcript with search, each line a button that seeks to it.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useCaptionPrefs } from '../captionPrefs';
import { highlightParts, searchTranscript } from '../captions';
import { formatClock, formatSpoken, plural } from '../format';
import { nameOf } from '../room';
import type { TranscriptLine } from '../types';
import { CaptionSizeSelect } from './Captions';

/** After the listener scrolls the transcript, it stops following the playback this long. */
const FOLLOW_PAUSE_MS = 6_000;

/** The CC toggle of a player (remembered with the room's), and the text size once shown. */
export function CaptionToggle({ sizeId }: { sizeId: string }) {
  const [prefs, setPrefs] = useCaptionPrefs();
  return (
    <div class="caption-toggle-row">
      <button type="button" class="secondary small" aria-pressed={prefs.shown} data-testid="cc-toggle"
        onClick={() => setPrefs({ shown: !prefs.shown })}>
        <span aria-hidden="true" class="cc-glyph">CC</span> Captions
      </button>
      {prefs.shown && <CaptionSizeSelect id={sizeId} />}
    </div>
  );
}

/** The line playing now, shown under the player while captions are on (not a live region). */
export function CaptionNow({ line, language }: { line: TranscriptLine | null; language?: string }) {
  const [prefs] = useCaptionPrefs();
  if (!prefs.shown) return null;
  return (
    <div class={`caption-now caption-size-${prefs.size}`} data-testid="caption-now" lang={language || undefined}
      data-line-id={line ? line.id : ''}>
      {line
        ? <p><span class="caption-name">{nameOf(line.user)}:</span> {line.text}</p>
        : <p class="caption-idle" lang="en">…</p>}
    </div>
  );
}

function Marked({ text, query }: { text: string; query: string }) {
  return (
    <>
      {highlightParts(text, query).map((part, i) => (part.match ? <mark key={i}>{part.text}</mark> : part.text))}
    </>
  );
}

/**
 * The transcript: a search box that filters the lines and marks what matched, and the lines as
 * buttons that seek the player to where each starts. The line playing now is marked and, unless
 * the listener is scrolling the list, kept in view.
 */
export function TranscriptPanel({ lines, currentId, language, seek, idPrefix, title = 'Transcript', downloads }: {
  lines: readonly TranscriptLine[];
  currentId: number | null;
  language?: string;
  seek: (s: number) => void;
  idPrefix: string;
  title?: string;
  downloads?: ComponentChildren;
}) {
  const [query, setQuery] = useState('');
  const shown = searchTranscript(lines, query);
  const scrollRef = useRef<HTMLOListElement>(null);
  const pausedUntil = useRef(0);

  // Keep the playing line in view inside the list (never scrolling the page itself).
  useLayoutEffect(() => {
    const list = scrollRef.current;
    if (!list || currentId === null || Date.now() < pausedUntil.current) return;
    const item = list.querySelector<HTMLElement>(`[data-line-id="${currentId}"]`);
    if (!item) return;
    const top = item.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + item.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }, [currentId, query]);

  useEffect(() => {
    const list = scrollRef.current;
    if (!list) return undefined;
    const pause = () => {
      pausedUntil.current = Date.now() + FOLLOW_PAUSE_MS;
    };
    list.addEventListener('wheel', pause, { passive: true });
    list.addEventListener('touchmove', pause, { passive: true });
    return () => {
      list.removeEventListener('wheel', pause);
      list.removeEventListener('touchmove', pause);
    };
  }, []);

  const searching = query.trim() !== '';
  return (
    <section aria-labelledby={`${idPrefix}-title`} class="panel transcript" data-testid="transcript">
      <h2 id={`${idPrefix}-title`}>{title}</h2>
      <div class="field transcript-search">
        <label for={`${idPrefix}-search`}>Search the transcript</label>
        <input id={`${idPrefix}-search`} type="search" value={query} data-testid="transcript-search"
          aria-describedby={`${idPrefix}-count`}
          onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <p id={`${idPrefix}-count`} class="hint" role="status" data-testid="transcript-count">
        {searching
          ? (shown.length ? `${plural(shown.length, 'line matches', 'lines match')} “${query.trim()}”.` : `No line matches “${query.trim()}”.`)
          : `${plural(lines.length, 'line', 'lines')}. Choose a line to play from there.`}
      </p>
      {shown.length > 0 && (
        <ol class="transcript-lines" ref={scrollRef} lang={language || undefined} data-testid="transcript-lines">
          {shown.map((line) => {
            const current = line.id === currentId;
            return (
              <li key={line.id} data-line-id={line.id}>
                <button type="button" class={`transcript-line${current ? ' is-current' : ''}`} data-testid="transcript-line"
                  data-start={line.start_s} aria-current={current ? 'true' : undefined} onClick={() => seek(line.start_s)}>
                  <span class="transcript-time" lang="en">
                    <span aria-hidden="true">{formatClock(line.start_s)}</span>
                    <span class="sr-only">{formatSpoken(line.start_s)}, </span>
                  </span>
                  <span class="transcript-body">
                    <span class="caption-name"><Marked text={nameOf(line.user)} query={query} />:</span>{' '}
                    <Marked text={line.text} query={query} />
                  </span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
      {downloads}
    </section>
  );
}

/** Links to the transcript's files (the host and everyone who spoke may download them). */
export function TranscriptDownloads({ spaceId }: { spaceId: number }) {
  const formats = [
    { ext: 'vtt', label: 'WebVTT (.vtt)' },
    { ext: 'srt', label: 'SubRip (.srt)' },
    { ext: 'txt', label: 'Text (.txt)' },
  ];
  return (
    <div class="transcript-downloads" data-testid="transcript-downloads">
      <h3>Download the transcript</h3>
      <ul class="download-links">
        {formats.map((f) => (
          <li key={f.ext}>
            <a class="button secondary small" href={`/api/spaces/${spaceId}/transcript.${f.ext}`} download
              data-testid={`transcript-download-${f.ext}`}>
              {f.label}<span class="sr-only"> transcript</span>
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
