// Unit tests for the search rules and paging helpers (src/searchRules.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  QUERY_MAX,
  pagePath,
  queryProblem,
  resultsSummary,
  searchErrorText,
  searchHref,
  type ErrorFacts,
} from '../src/searchRules';

const error = (facts: Partial<ErrorFacts>): ErrorFacts => ({
  status: 422, code: 'validation_failed', field: null, rule: null, retryAfterS: null, message: 'server words', ...facts,
});

describe('queryProblem', () => {
  it('takes names, handles, any script and emoji up to the limit', () => {
    for (const q of ['alice', '@alice', ' Élodie ', '日本語', '🎙️ rooms', 'x'.repeat(QUERY_MAX), ` ${'é'.repeat(QUERY_MAX)} `]) {
      assert.equal(queryProblem(q), null, q);
    }
  });
  it('refuses what the server refuses, in plain words', () => {
    assert.match(queryProblem('') ?? '', /Type a name/);
    assert.match(queryProblem('   ') ?? '', /Type a name/);
    assert.match(queryProblem('@') ?? '', /Type a name/);
    assert.match(queryProblem('x'.repeat(QUERY_MAX + 1)) ?? '', /at most 100 characters/);
    for (const q of ['a\tb', 'line\nbreak', 'a\u0000', 'a\u007f', 'a\u0085', 'a\u2028b']) {
      assert.match(queryProblem(q) ?? '', /control characters/, JSON.stringify(q));
    }
  });
  it('counts characters, not UTF-16 units', () => {
    assert.equal(queryProblem('😀'.repeat(QUERY_MAX)), null);
  });
});

describe('addresses', () => {
  it('puts the trimmed query in the search page address', () => {
    assert.equal(searchHref('  rust & café '), '/search?q=rust%20%26%20caf%C3%A9');
    assert.equal(searchHref('   '), '/search');
  });
  it('adds the page to a path with or without a query', () => {
    assert.equal(pagePath('/api/replays', 0, 12), '/api/replays?offset=0&limit=12');
    assert.equal(pagePath('/api/replays?host=ada', 12, 12), '/api/replays?host=ada&offset=12&limit=12');
  });
});

describe('searchErrorText', () => {
  it('says how long to wait when rate limited', () => {
    assert.match(searchErrorText(error({ status: 429, code: 'rate_limited', retryAfterS: 3 })), /Try again in 3 seconds/);
    assert.match(searchErrorText(error({ status: 429, code: 'rate_limited', retryAfterS: 1 })), /in 1 second\./);
  });
  it('names the rule the query broke', () => {
    assert.match(searchErrorText(error({ field: 'q', rule: 'control_characters' })), /control characters/);
    assert.match(searchErrorText(error({ field: 'q', rule: 'max_length' })), /at most 100/);
    assert.match(searchErrorText(error({ field: 'q', rule: 'min_length' })), /Type a name/);
  });
  it('falls back to plain words for the network and the server', () => {
    assert.match(searchErrorText(error({ status: 0, code: 'network' })), /connection/);
    assert.match(searchErrorText(error({ status: 500, code: 'internal_error' })), /not working right now/);
    assert.equal(searchErrorText(error({ status: 404, code: 'not_found' })), 'server words');
  });
});

describe('resultsSummary', () => {
  it('counts what was found and says when there is more', () => {
    assert.equal(resultsSummary('ada', 1, 0, { people: false, spaces: false }), 'Found 1 person and no spaces for “ada”.');
    assert.equal(resultsSummary('ada', 20, 2, { people: true, spaces: false }), 'Found 20 or more people and 2 spaces for “ada”.');
  });
});
