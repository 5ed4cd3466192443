// Pure rules of live captions and transcripts (docs/captions.md; no DOM): the room's caption
// log (finals plus each speaker's current partial), the line playing at a time, transcript
// search, and the spoken-language choices. Tested in test/captions.test.ts.
import type { CaptionLine, TranscriptLine } from './types';

/** How many final lines the room keeps on screen. */
export const CAPTION_LOG_MAX = 50;

/** What the room's captions panel shows: finals, oldest first, and the partials being spoken. */
export interface CaptionLog {
  finals: readonly CaptionLine[];
  /** At most one per speaker (their utterance in progress), in the order they started. */
  partials: readonly CaptionLine[];
}

export const EMPTY_CAPTION_LOG: CaptionLog = { finals: [], partials: [] };

/** The log a socket snapshot starts from: its last finals (oldest first). */
export function captionLogFrom(lines: readonly CaptionLine[] | undefined, max = CAPTION_LOG_MAX): CaptionLog {
  const finals = (lines ?? []).filter((line) => line.final);
  return { finals: finals.slice(-max), partials: [] };
}

/**
 * The log after one `caption` event. A partial replaces the partial with its id (and any older
 * partial of the same speaker, whose final went missing); a final replaces its partial and joins
 * the finals (once: a repeated final is ignored); an empty final (text "") only removes its
 * partial. Returns the same log when nothing changed.
 */
export function applyCaption(log: CaptionLog, line: CaptionLine, max = CAPTION_LOG_MAX): CaptionLog {
  if (line.final) {
    if (log.finals.some((f) => f.id === line.id)) return log;
    const partials = log.partials.filter((p) => p.id !== line.id);
    // An empty final: nothing was recognized after all; its partial goes, nothing stays.
    if (line.text === '') return { finals: log.finals, partials };
    const finals = [...log.finals, line];
    // Keep the finals in time order: two speakers' lines may end out of order.
    finals.sort((a, b) => a.start_s - b.start_s || a.id - b.id);
    return { finals: finals.length > max ? finals.slice(-max) : finals, partials };
  }
  // A partial after its own final is late: the final stands.
  if (log.finals.some((f) => f.id === line.id)) return log;
  const index = log.partials.findIndex((p) => p.id === line.id);
  if (index >= 0) {
    const before = log.partials[index];
    if (before.text === line.text && before.end_s === line.end_s) return log;
    const partials = [...log.partials];
    partials[index] = line;
    return { finals: log.finals, partials };
  }
  const partials = [...log.partials.filter((p) => p.user_id !== line.user_id), line];
  return { finals: log.finals, partials };
}

/** The partials of speakers no longer on stage are dropped (their final will not come). */
export function dropPartialsExcept(log: CaptionLog, onStage: ReadonlySet<number>): CaptionLog {
  const partials = log.partials.filter((p) => onStage.has(p.user_id));
  return partials.length === log.partials.length ? log : { finals: log.finals, partials };
}

/** The words shown for a line: its text, or that the speaker is not captioned. */
export function captionText(line: Pick<CaptionLine, 'text' | 'final'>, name: string): string {
  if (line.text !== null) return line.text;
  return line.final ? `${name} spoke (not captioned)` : `${name} is speaking (not captioned)`;
}

/**
 * The index of the line playing at `positionS` (its [start_s, end_s] contains it), or -1. Lines
 * are in time order; where two overlap, the later start wins.
 */
export function lineIndexAt(lines: readonly { start_s: number; end_s: number }[], positionS: number): number {
  if (!Number.isFinite(positionS)) return -1;
  // A seek to a line's start may land a hair before it.
  const t = positionS + 0.05;
  let lo = 0;
  let hi = lines.length - 1;
  let last = -1; // the last line starting at or before t
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].start_s <= t) {
      last = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  for (let i = last; i >= 0 && i >= last - 3; i--) {
    if (lines[i].end_s >= positionS) return i;
  }
  return -1;
}

/** Lower case without accents, so "cafe" finds "Café". */
export function foldForSearch(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The transcript lines whose words (or speaker's name) contain the query; all when it is blank. */
export function searchTranscript(lines: readonly TranscriptLine[], query: string): TranscriptLine[] {
  const needle = foldForSearch(query.trim());
  if (!needle) return [...lines];
  return lines.filter((line) => foldForSearch(line.text).includes(needle)
    || foldForSearch(line.user.display_name).includes(needle)
    || foldForSearch(line.user.handle).includes(needle));
}

/**
 * `text` cut into the parts that match the query (to mark) and those that do not, matched as
 * search does (case and accents ignored). Folding keeps one character per character for the
 * letters this is used on; where it would not, the text is returned unmarked.
 */
export function highlightParts(text: string, query: string): { text: string; match: boolean }[] {
  const needle = foldForSearch(query.trim());
  if (!needle) return [{ text, match: false }];
  // Fold each character on its own so positions map back to the original text.
  const chars = Array.from(text);
  const folded = chars.map((c) => foldForSearch(c));
  if (folded.some((f) => f.length !== 1) || Array.from(needle).length !== needle.length) {
    return [{ text, match: false }];
  }
  const haystack = folded.join('');
  const parts: { text: string; match: boolean }[] = [];
  let from = 0;
  let at = haystack.indexOf(needle, 0);
  while (at >= 0) {
    if (at > from) parts.push({ text: chars.slice(from, at).join(''), match: false });
    parts.push({ text: chars.slice(at, at + needle.length).join(''), match: true });
    from = at + needle.length;
    at = haystack.indexOf(needle, from);
  }
  if (from < chars.length) parts.push({ text: chars.slice(from).join(''), match: false });
  return parts.length ? parts : [{ text, match: false }];
}

export interface LanguageOption {
  code: string;
  name: string;
}

/**
 * The spoken-language choices: each code with its name in the reader's language (`nameOf`,
 * Intl.DisplayNames in the browser; the code itself when it has none), sorted by name.
 */
export function languageOptions(codes: readonly string[], nameOf: (code: string) => string | undefined, locale?: string): LanguageOption[] {
  const seen = new Set<string>();
  const options: LanguageOption[] = [];
  for (const code of codes) {
    if (seen.has(code)) continue;
    seen.add(code);
    let name: string | undefined;
    try {
      name = nameOf(code);
    } catch {
      name = undefined;
    }
    options.push({ code, name: name && name !== code ? name : code });
  }
  const collator = new Intl.Collator(locale, { sensitivity: 'base' });
  return options.sort((a, b) => collator.compare(a.name, b.name) || a.code.localeCompare(b.code));
}

export type CaptionSize = 's' | 'm' | 'l';
export const CAPTION_SIZES: readonly { value: CaptionSize; label: string }[] = [
  { value: 's', label: 'Small' },
  { value: 'm', label: 'Medium' },
  { value: 'l', label: 'Large' },
];

export function parseCaptionSize(value: string | null | undefined): CaptionSize {
  return value === 's' || value === 'l' ? value : 'm';
}
