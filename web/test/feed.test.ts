// Unit tests for the feed's message parsing (src/feed.ts) and the microphone's words (src/audioRules.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { micProblem } from '../src/audioRules';
import { parseFeedMessage } from '../src/feed';

describe('parseFeedMessage', () => {
  it('reads a space change', () => {
    const space = { id: 3, state: 'live', title: 'T' };
    assert.deepEqual(parseFeedMessage(JSON.stringify({ type: 'space_changed', space })), space);
  });
  it('ignores pings, other types, malformed JSON and spaces without an id or state', () => {
    assert.equal(parseFeedMessage('{"type": "ping"}'), null);
    assert.equal(parseFeedMessage('{"type": "snapshot", "space": {"id": 1, "state": "live"}}'), null);
    assert.equal(parseFeedMessage('{not json'), null);
    assert.equal(parseFeedMessage('{"type": "space_changed", "space": null}'), null);
    assert.equal(parseFeedMessage('{"type": "space_changed", "space": {"id": "1", "state": "live"}}'), null);
    assert.equal(parseFeedMessage(new ArrayBuffer(2)), null);
  });
});

describe('micProblem', () => {
  it('has nothing to say while the microphone is on or being asked for', () => {
    assert.equal(micProblem('on'), null);
    assert.equal(micProblem('asking'), null);
  });
  it('says why the speaker stays muted, and what to do', () => {
    assert.match(micProblem('denied') ?? '', /blocked, so you stay muted.*site settings/);
    assert.match(micProblem('unavailable') ?? '', /No microphone could be used, so you stay muted/);
    assert.match(micProblem('error') ?? '', /could not be started, so you stay muted/);
  });
});
