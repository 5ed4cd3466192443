// Unit tests for the caption rules (src/captions.ts): the room's caption log, the line playing
// at a time, transcript search and marking, and the spoken-language choices.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyCaption,
  captionLogFrom,
  captionText,
  dropPartialsExcept,
  EMPTY_CAPTION_LOG,
  highlightParts,
  languageOptions,
  lineIndexAt,
  parseCaptionSize,
  searchTranscript,
} from '../src/captions';
import type { CaptionLine, TranscriptLine } from '../src/types';

const line = (id: number, userId: number, text: string | null, final: boolean, start = id, end = id + 1): CaptionLine => ({
  id, user_id: userId, start_s: start, end_s: end, text, final,
});
const user = (id: number, name: string) => ({ id, handle: name.toLowerCase(), display_name: name, avatar_url: null });
const tline = (id: number, start: number, end: number, text: string, who = user(1, 'Hana')): TranscriptLine => ({
  id, user: who, start_s: start, end_s: end, text,
});

describe('applyCaption', () => {
  it('replaces a partial by the next partial and then by its final', () => {
    let log = applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'hel', false));
    log = applyCaption(log, line(1, 7, 'hello wor', false));
    assert.deepEqual(log.partials.map((p) => p.text), ['hello wor']);
    log = applyCaption(log, line(1, 7, 'hello world', true));
    assert.deepEqual(log.partials, []);
    assert.deepEqual(log.finals.map((f) => f.text), ['hello world']);
  });
  it('drops a partial whose final is empty (nothing recognized), keeping no line', () => {
    let log = applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'uh', false));
    log = applyCaption(log, line(1, 7, '', true));
    assert.deepEqual(log.partials, []);
    assert.deepEqual(log.finals, []);
  });
  it('keeps one partial per speaker, several speakers at once', () => {
    let log = applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'a', false));
    log = applyCaption(log, line(2, 8, 'b', false));
    log = applyCaption(log, line(3, 7, 'c', false)); // 7's final for 1 went missing
    assert.deepEqual(log.partials.map((p) => p.id), [2, 3]);
  });
  it('ignores a repeated final and a partial arriving after its final', () => {
    const once = applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'done', true));
    assert.equal(applyCaption(once, line(1, 7, 'done', true)), once);
    assert.equal(applyCaption(once, line(1, 7, 'do', false)), once);
  });
  it('returns the same log for an unchanged partial', () => {
    const log = applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'same', false));
    assert.equal(applyCaption(log, line(1, 7, 'same', false)), log);
  });
  it('keeps the last finals only, in time order', () => {
    let log = EMPTY_CAPTION_LOG;
    for (let i = 0; i < 60; i++) log = applyCaption(log, line(i, 7, `line ${i}`, true), 50);
    assert.equal(log.finals.length, 50);
    assert.equal(log.finals[0].id, 10);
    log = applyCaption(captionLogFrom([line(5, 7, 'later', true, 10, 11)]), line(4, 8, 'earlier', true, 9, 12));
    assert.deepEqual(log.finals.map((f) => f.id), [4, 5]);
  });
  it('starts from the snapshot finals', () => {
    const log = captionLogFrom([line(1, 7, 'x', true), line(2, 7, 'y', false)]);
    assert.deepEqual(log.finals.map((f) => f.id), [1]);
    assert.deepEqual(captionLogFrom(undefined), EMPTY_CAPTION_LOG);
  });
  it('drops the partials of speakers who left the stage', () => {
    const log = applyCaption(applyCaption(EMPTY_CAPTION_LOG, line(1, 7, 'a', false)), line(2, 8, 'b', false));
    assert.deepEqual(dropPartialsExcept(log, new Set([8])).partials.map((p) => p.user_id), [8]);
    const kept = new Set([7, 8]);
    assert.equal(dropPartialsExcept(log, kept), log);
  });
});

describe('captionText', () => {
  it('says who speaks without captions', () => {
    assert.equal(captionText({ text: null, final: false }, 'Sam'), 'Sam is speaking (not captioned)');
    assert.equal(captionText({ text: null, final: true }, 'Sam'), 'Sam spoke (not captioned)');
    assert.equal(captionText({ text: 'hi', final: true }, 'Sam'), 'hi');
  });
});

describe('lineIndexAt', () => {
  const lines = [tline(1, 0, 2, 'a'), tline(2, 3, 5, 'b'), tline(3, 4.5, 8, 'c')];
  it('finds the line whose span holds the time', () => {
    assert.equal(lineIndexAt(lines, 1), 0);
    assert.equal(lineIndexAt(lines, 3.5), 1);
    assert.equal(lineIndexAt(lines, 4.8), 2); // overlapping: the later start
    assert.equal(lineIndexAt(lines, 2.97), 1); // a seek landing a hair early
  });
  it('finds none between lines, after the last or for junk', () => {
    assert.equal(lineIndexAt(lines, 2.5), -1);
    assert.equal(lineIndexAt(lines, 9), -1);
    assert.equal(lineIndexAt([], 1), -1);
    assert.equal(lineIndexAt(lines, Number.NaN), -1);
  });
});

describe('transcript search', () => {
  const lines = [tline(1, 0, 1, 'Welcome to the stage'), tline(2, 1, 2, 'Un café crème'), tline(3, 2, 3, 'bye', user(2, 'Sam'))];
  it('filters by words, ignoring case and accents, and by speaker', () => {
    assert.deepEqual(searchTranscript(lines, 'STAGE').map((l) => l.id), [1]);
    assert.deepEqual(searchTranscript(lines, 'cafe').map((l) => l.id), [2]);
    assert.deepEqual(searchTranscript(lines, 'sam').map((l) => l.id), [3]);
    assert.equal(searchTranscript(lines, '  ').length, 3);
  });
  it('marks every match in the original text', () => {
    assert.deepEqual(highlightParts('Café and cafe', 'cafe'), [
      { text: 'Café', match: true }, { text: ' and ', match: false }, { text: 'cafe', match: true },
    ]);
    assert.deepEqual(highlightParts('nothing', 'x'), [{ text: 'nothing', match: false }]);
    assert.deepEqual(highlightParts('text', ''), [{ text: 'text', match: false }]);
  });
});

describe('languageOptions', () => {
  it('names each code, sorted by name, without repeats', () => {
    const names: Record<string, string> = { en: 'English', fr: 'French', de: 'German' };
    const options = languageOptions(['fr', 'en', 'de', 'en', 'xx'], (c) => names[c], 'en');
    assert.deepEqual(options.map((o) => o.code), ['en', 'fr', 'de', 'xx']);
    assert.equal(options[3].name, 'xx');
  });
  it('falls back to the code when naming throws', () => {
    const options = languageOptions(['zz'], () => { throw new RangeError('bad'); });
    assert.deepEqual(options, [{ code: 'zz', name: 'zz' }]);
  });
});

describe('parseCaptionSize', () => {
  it('reads the stored size, medium by default', () => {
    assert.equal(parseCaptionSize('l'), 'l');
    assert.equal(parseCaptionSize('s'), 's');
    assert.equal(parseCaptionSize(null), 'm');
    assert.equal(parseCaptionSize('huge'), 'm');
  });
});
