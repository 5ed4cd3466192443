// Unit tests for the profile-picture rules of the client (src/pictureRules.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PICTURE_ACCEPT, PICTURE_MAX_BYTES, pictureErrorText, pictureProblem } from '../src/pictureRules';

describe('pictureProblem', () => {
  it('takes the four picture types up to 5 MB', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'image/gif']) {
      assert.equal(pictureProblem({ type, size: 1000 }), null);
      assert.ok(PICTURE_ACCEPT.includes(type));
    }
    assert.equal(pictureProblem({ type: 'image/png', size: PICTURE_MAX_BYTES }), null);
  });
  it('refuses other types, larger files and empty ones', () => {
    assert.match(pictureProblem({ type: 'image/svg+xml', size: 10 }) ?? '', /not a picture/);
    assert.match(pictureProblem({ type: '', size: 10 }) ?? '', /not a picture/);
    assert.match(pictureProblem({ type: 'image/png', size: PICTURE_MAX_BYTES + 1 }) ?? '', /too large/);
    assert.match(pictureProblem({ type: 'image/gif', size: 0 }) ?? '', /empty/);
  });
});

describe('pictureErrorText', () => {
  const refusal = (rule: string | null, message = 'body: something') => ({ code: 'validation_failed', rule, message });
  it('says each of the server refusals for people', () => {
    assert.match(pictureErrorText(refusal('max_bytes')), /too large/);
    assert.match(pictureErrorText(refusal('one_of')), /not a picture/);
    assert.match(pictureErrorText(refusal('image')), /not a picture/);
    assert.match(pictureErrorText(refusal('decodable')), /damaged/);
    assert.match(pictureErrorText(refusal('max_pixels')), /too many pixels/);
    assert.match(pictureErrorText(refusal('max_dimensions')), /too many pixels/);
    assert.match(pictureErrorText(refusal('min_dimensions')), /too small/);
  });
  it('keeps the server message otherwise', () => {
    assert.equal(pictureErrorText(refusal(null, 'too many picture changes; slow down')), 'too many picture changes; slow down');
  });
});
