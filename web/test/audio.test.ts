// Unit tests for the pure audio rules (src/audioRules.ts) and speaking levels (src/room.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioStatusText, isRetryableStatus, mediaKindFor, micStateForError } from '../src/audioRules';
import { applyLevels, isSpeaking } from '../src/room';

describe('mediaKindFor', () => {
  const live = { live: true, onStage: false, muted: true };
  it('holds nothing when the space is not live', () => {
    assert.equal(mediaKindFor({ ...live, live: false, onStage: true }, true, false), null);
  });
  it('listens over WHEP off stage, and on stage without a microphone', () => {
    assert.equal(mediaKindFor(live, true, false), 'whep');
    assert.equal(mediaKindFor({ ...live, onStage: true }, false, false), 'whep');
  });
  it('publishes over WHIP on stage with a microphone, muted or not', () => {
    assert.equal(mediaKindFor({ ...live, onStage: true }, true, false), 'whip');
    assert.equal(mediaKindFor({ ...live, onStage: true, muted: false }, true, false), 'whip');
  });
  it('falls back to listening when the server refused publishing', () => {
    assert.equal(mediaKindFor({ ...live, onStage: true }, true, true), 'whep');
  });
});

describe('isRetryableStatus', () => {
  it('retries the network, server errors and rate limits only', () => {
    for (const status of [0, 408, 429, 500, 502, 503]) assert.equal(isRetryableStatus(status), true, String(status));
    for (const status of [400, 401, 403, 404, 409, 415, 422]) assert.equal(isRetryableStatus(status), false, String(status));
  });
});

describe('micStateForError', () => {
  it('tells a refusal from a missing device', () => {
    assert.equal(micStateForError('NotAllowedError'), 'denied');
    assert.equal(micStateForError('SecurityError'), 'denied');
    assert.equal(micStateForError('NotFoundError'), 'unavailable');
    assert.equal(micStateForError('NotReadableError'), 'unavailable');
    assert.equal(micStateForError('AbortError'), 'error');
  });
});

describe('audioStatusText', () => {
  it('says what the audio is doing', () => {
    assert.equal(audioStatusText({ kind: null, status: 'off', blocked: false }), 'Audio off');
    assert.equal(audioStatusText({ kind: 'whep', status: 'connecting', blocked: false }), 'Connecting audio…');
    assert.equal(audioStatusText({ kind: 'whep', status: 'connected', blocked: false }), 'Listening');
    assert.equal(audioStatusText({ kind: 'whep', status: 'connected', blocked: true }), 'Audio paused by the browser');
    assert.equal(audioStatusText({ kind: 'whip', status: 'reconnecting', blocked: false }), 'Audio reconnecting…');
    assert.equal(audioStatusText({ kind: 'whip', status: 'connected', blocked: false }), 'On air: hearing the stage');
  });
});

describe('applyLevels', () => {
  it('changes only the members named, and drops those who stopped', () => {
    let levels: ReadonlyMap<number, number> = new Map();
    levels = applyLevels(levels, { type: 'levels', seq: null, levels: { 2: 0.6, 3: 0.4 } });
    assert.deepEqual([...levels], [[2, 0.6], [3, 0.4]]);
    assert.equal(isSpeaking(levels, 2), true);
    levels = applyLevels(levels, { type: 'levels', seq: null, levels: { 2: 0 } });
    assert.deepEqual([...levels], [[3, 0.4]]);
    assert.equal(isSpeaking(levels, 2), false);
  });
  it('returns the same map when nothing changed, and ignores junk', () => {
    const levels = new Map([[3, 0.4]]);
    assert.equal(applyLevels(levels, { type: 'levels', seq: null, levels: { 3: 0.4 } }), levels);
    assert.equal(applyLevels(levels, { type: 'levels', seq: null, levels: { x: 0.5 } }), levels);
    assert.deepEqual([...applyLevels(levels, { type: 'levels', seq: null, levels: { 4: 7 } })], [[3, 0.4], [4, 1]]);
  });
});
