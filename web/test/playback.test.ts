// Unit tests for the pure playback rules (src/playback.ts) and the status words for HLS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioStatusText } from '../src/audioRules';
import {
  expiresFromHlsUrl,
  hlsFolder,
  hlsRecoveryFor,
  isCapacityRefusal,
  localExpiresAt,
  parsePreferredMode,
  playbackFallback,
  playbackModeFor,
  rewriteHlsUrl,
  urlRefreshDelayMs,
  type PlaybackInputs,
} from '../src/playback';

describe('playbackModeFor', () => {
  const listener: PlaybackInputs = { kind: 'whep', preferred: 'webrtc', webrtcOffered: true, whepRefused: false };
  it('plays nothing when not live', () => {
    assert.equal(playbackModeFor({ ...listener, kind: null }), null);
    assert.equal(playbackModeFor({ ...listener, kind: null, preferred: 'hls' }), null);
  });
  it('listens over WebRTC while the server offers it', () => {
    assert.equal(playbackModeFor(listener), 'webrtc');
  });
  it('falls back to HLS when low latency is full, by the listen answer or a WHEP 503', () => {
    assert.equal(playbackModeFor({ ...listener, webrtcOffered: false }), 'hls');
    assert.equal(playbackModeFor({ ...listener, whepRefused: true }), 'hls');
  });
  it('follows a listener who chose Standard', () => {
    assert.equal(playbackModeFor({ ...listener, preferred: 'hls' }), 'hls');
  });
  it('always publishes over WebRTC from the stage, whatever the choice or capacity', () => {
    const publisher: PlaybackInputs = { kind: 'whip', preferred: 'hls', webrtcOffered: false, whepRefused: true };
    assert.equal(playbackModeFor(publisher), 'webrtc');
  });
});

describe('playbackFallback', () => {
  it('names capacity only when HLS plays against the listener\'s choice', () => {
    assert.equal(playbackFallback('hls', 'webrtc'), 'capacity');
    assert.equal(playbackFallback('hls', 'hls'), null);
    assert.equal(playbackFallback('webrtc', 'webrtc'), null);
    assert.equal(playbackFallback(null, 'webrtc'), null);
  });
});

describe('isCapacityRefusal', () => {
  it('is a 503 saying "capacity", not any 503', () => {
    assert.equal(isCapacityRefusal(503, 'capacity'), true);
    assert.equal(isCapacityRefusal(503, 'unavailable'), false);
    assert.equal(isCapacityRefusal(429, 'capacity'), false);
  });
});

describe('parsePreferredMode', () => {
  it('reads the stored choice, low latency by default', () => {
    assert.equal(parsePreferredMode('hls'), 'hls');
    assert.equal(parsePreferredMode('webrtc'), 'webrtc');
    assert.equal(parsePreferredMode(null), 'webrtc');
    assert.equal(parsePreferredMode('junk'), 'webrtc');
  });
});

describe('hlsRecoveryFor', () => {
  it('lets hls.js recover media errors twice, then reloads; reloads network errors at once', () => {
    assert.equal(hlsRecoveryFor('mediaError', 0), 'recover-media');
    assert.equal(hlsRecoveryFor('mediaError', 1), 'recover-media');
    assert.equal(hlsRecoveryFor('mediaError', 2), 'reload');
    assert.equal(hlsRecoveryFor('networkError', 0), 'reload');
    assert.equal(hlsRecoveryFor('otherError', 0), 'reload');
  });
});

describe('urlRefreshDelayMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('refreshes a minute early when the URL lives long', () => {
    assert.equal(urlRefreshDelayMs('2026-01-01T00:10:00Z', now), 9 * 60_000);
  });
  it('refreshes a quarter early when the URL lives briefly, but not sooner than 5 s', () => {
    assert.equal(urlRefreshDelayMs('2026-01-01T00:00:40Z', now), 30_000);
    assert.equal(urlRefreshDelayMs('2026-01-01T00:00:04Z', now), 5_000);
    assert.equal(urlRefreshDelayMs('2025-12-31T23:59:00Z', now), 5_000);
  });
  it('does not schedule without a readable expiry', () => {
    assert.equal(urlRefreshDelayMs(null, now), null);
    assert.equal(urlRefreshDelayMs('soon', now), null);
  });
});

describe('signed HLS URLs', () => {
  it('finds the folder of a playlist URL', () => {
    assert.equal(hlsFolder('/hls/7/1700000000/abc/live.m3u8'), '/hls/7/1700000000/abc/');
    assert.equal(hlsFolder('https://example.org/hls/7/1/s/live.m3u8?x=1'), '/hls/7/1/s/');
  });
  it('moves requests under an old folder to the current one, keeping origin, file and query', () => {
    const old = ['/hls/7/1/aaa/'];
    assert.equal(
      rewriteHlsUrl('https://example.org/hls/7/1/aaa/seg12.m4s?n=1', old, '/hls/7/2/bbb/'),
      'https://example.org/hls/7/2/bbb/seg12.m4s?n=1',
    );
    assert.equal(rewriteHlsUrl('/hls/7/1/aaa/live.m3u8', old, '/hls/7/2/bbb/'), '/hls/7/2/bbb/live.m3u8');
  });
  it('reads the expiry written into a signed URL', () => {
    assert.equal(expiresFromHlsUrl('/hls/7/replay/1767225600/sig/index.m3u8'), '2026-01-01T00:00:00.000Z');
    assert.equal(expiresFromHlsUrl('https://cdn.example.org/hls/7/replay/1767225600/sig/index.m3u8?x=1'), '2026-01-01T00:00:00.000Z');
    assert.equal(expiresFromHlsUrl('/media/7/index.m3u8'), null);
  });
  it('reads the expiry of a link that names its holder', () => {
    assert.equal(expiresFromHlsUrl('/hls/7/replay/u12/1767225600/sig/index.m3u8'), '2026-01-01T00:00:00.000Z');
    assert.equal(expiresFromHlsUrl('/hls/7/live/vabcdefghijklmnop/1767225600/sig/live.m3u8'), '2026-01-01T00:00:00.000Z');
  });
  it('puts a link\'s expiry on this clock when the server says how long it lives', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    // The server's clock is 10 minutes ahead: its expiry would be renewed far too late.
    assert.equal(localExpiresAt('2026-01-01T00:11:30Z', 90, now), '2026-01-01T00:01:30.000Z');
    assert.equal(localExpiresAt('2026-01-01T00:11:30Z', undefined, now), '2026-01-01T00:11:30Z');
  });
  it('leaves other URLs alone', () => {
    assert.equal(rewriteHlsUrl('https://example.org/hls/8/1/aaa/x.m4s', ['/hls/7/1/aaa/'], '/hls/7/2/bbb/'),
      'https://example.org/hls/8/1/aaa/x.m4s');
    assert.equal(rewriteHlsUrl('/hls/7/2/bbb/x.m4s', ['/hls/7/1/aaa/'], '/hls/7/2/bbb/'), '/hls/7/2/bbb/x.m4s');
  });
});

describe('audioStatusText with HLS', () => {
  const base = { kind: null, blocked: false } as const;
  it('says when the room plays over HLS', () => {
    assert.equal(audioStatusText({ ...base, status: 'connected', mode: 'hls', playback: 'hls' }), 'Listening (data saver)');
    assert.equal(audioStatusText({ ...base, status: 'connecting', mode: 'hls', playback: null }), 'Connecting audio…');
    assert.equal(audioStatusText({ ...base, status: 'unavailable', mode: 'hls', playback: null }), 'Audio unavailable');
  });
  it('says when it is switching between paths', () => {
    assert.equal(
      audioStatusText({ kind: 'whep', blocked: false, status: 'connecting', mode: 'hls', playback: 'webrtc' }),
      'Switching to data saver…',
    );
    assert.equal(
      audioStatusText({ kind: 'whep', blocked: false, status: 'connecting', mode: 'webrtc', playback: 'hls' }),
      'Switching to instant…',
    );
  });
  it('keeps the WebRTC words', () => {
    assert.equal(audioStatusText({ kind: 'whep', blocked: false, status: 'connected', mode: 'webrtc', playback: 'webrtc' }), 'Listening');
  });
});
