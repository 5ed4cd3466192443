// Unit tests for the OS media controls (src/mediaSession.ts): what they show, and pausing and
// resuming the app's audio elements (fakes) without leaving the room.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARTWORK,
  LIVE_LAG_S,
  LIVE_MAX_BEHIND_S,
  liveResumeTime,
  MediaSessionSync,
  nowPlayingFor,
  PauseControl,
  playbackStateFor,
  type MediaSessionLike,
  type NowPlaying,
  type Playable,
} from '../src/mediaSession';

const space = { title: 'Morning show', host: { display_name: 'Hal Host', handle: 'hal' } };

class FakeAudio implements Playable {
  paused = true;
  currentTime = 0;
  srcObject: unknown = null;
  currentSrc = '';
  seekable = { length: 0, end: (_index: number) => 0 };
  plays = 0;
  refuse = false;
  private readonly playListeners = new Set<() => void>();

  async play(): Promise<void> {
    this.plays += 1;
    if (this.refuse) throw new Error('NotAllowedError');
    this.paused = false;
    for (const listener of [...this.playListeners]) listener();
  }

  pause(): void {
    this.paused = true;
  }

  addEventListener(_type: 'play', listener: () => void): void {
    this.playListeners.add(listener);
  }

  removeEventListener(_type: 'play', listener: () => void): void {
    this.playListeners.delete(listener);
  }

  get listenerCount(): number {
    return this.playListeners.size;
  }

  liveEdgeAt(end: number): void {
    this.seekable = { length: 1, end: () => end };
  }
}

function playing(kind: 'webrtc' | 'hls'): FakeAudio {
  const audio = new FakeAudio();
  if (kind === 'webrtc') audio.srcObject = {};
  else audio.currentSrc = 'blob:http://parley.test/1';
  audio.paused = false;
  return audio;
}

describe('nowPlayingFor', () => {
  it('shows the space title, its host and the app icon', () => {
    const now = nowPlayingFor(space);
    assert.deepEqual(now, {
      title: 'Morning show',
      artist: 'Hal Host (@hal)',
      album: 'Live on Parley',
      artwork: [...ARTWORK],
    });
    assert.ok(now!.artwork.some((image) => image.sizes === '512x512' && image.type === 'image/png'));
  });
  it('shows nothing when no space plays, and a word for an untitled one', () => {
    assert.equal(nowPlayingFor(null), null);
    assert.equal(nowPlayingFor({ ...space, title: '' })!.title, 'Live space');
  });
});

describe('playbackStateFor', () => {
  it('is none without a space, else paused or playing', () => {
    assert.equal(playbackStateFor(false, false), 'none');
    assert.equal(playbackStateFor(false, true), 'none');
    assert.equal(playbackStateFor(true, false), 'playing');
    assert.equal(playbackStateFor(true, true), 'paused');
  });
  it('offers play while the browser blocks the audio', () => {
    assert.equal(playbackStateFor(true, false, true), 'paused');
    assert.equal(playbackStateFor(false, false, true), 'none');
  });
});

describe('liveResumeTime', () => {
  it('resumes in place a short pause, or without a known live edge', () => {
    assert.equal(liveResumeTime(100, 100 + LIVE_MAX_BEHIND_S), null);
    assert.equal(liveResumeTime(100, null), null);
    assert.equal(liveResumeTime(100, Infinity), null);
  });
  it('jumps near the live edge after a long pause', () => {
    assert.equal(liveResumeTime(100, 200), 200 - LIVE_LAG_S);
    assert.equal(liveResumeTime(0, 12, 10, 3), 9);
  });
});

describe('PauseControl', () => {
  it('pauses every element, keeps them paused if something plays them, and plays again', async () => {
    const rtc = playing('webrtc');
    const hls = new FakeAudio(); // no source: not played on resume
    const control = new PauseControl(() => [rtc, hls]);
    let changes = 0;
    control.subscribe(() => { changes += 1; });

    control.pause();
    assert.equal(control.paused, true);
    assert.equal(rtc.paused, true);
    assert.equal(changes, 1);
    control.pause(); // twice is once
    assert.equal(changes, 1);

    // A reconnect plays the element again: it stays paused.
    await rtc.play();
    assert.equal(rtc.paused, true);

    await control.resume();
    assert.equal(control.paused, false);
    assert.equal(rtc.paused, false);
    assert.equal(hls.plays, 0);
    assert.equal(rtc.listenerCount, 0);
    assert.equal(hls.listenerCount, 0);
    assert.equal(changes, 2);
  });

  it('resumes through the room player when there is one', async () => {
    const rtc = playing('webrtc');
    const control = new PauseControl(() => [rtc]);
    let resumed = 0;
    control.player = async () => {
      resumed += 1;
      await rtc.play();
    };
    control.pause();
    await control.resume();
    assert.equal(resumed, 1);
    assert.equal(rtc.paused, false);
    // Not paused, but the browser refused to start the audio: play starts it.
    await control.resume();
    assert.equal(resumed, 2);
    assert.equal(control.paused, false);
  });

  it('brings a live stream that fell far behind back near its live edge', async () => {
    const hls = playing('hls');
    hls.currentTime = 50;
    const control = new PauseControl(() => [hls]);
    control.pause();
    hls.liveEdgeAt(50 + 60); // a minute later
    await control.resume();
    assert.equal(hls.currentTime, 110 - LIVE_LAG_S);

    control.pause();
    hls.liveEdgeAt(hls.currentTime + 4); // a few seconds: in place
    const before = hls.currentTime;
    await control.resume();
    assert.equal(hls.currentTime, before);
  });

  it('survives a refused play (autoplay) and forgets the pause on reset', async () => {
    const rtc = playing('webrtc');
    const control = new PauseControl(() => [rtc]);
    control.pause();
    rtc.refuse = true;
    await control.resume();
    assert.equal(control.paused, false);
    assert.equal(rtc.paused, true);

    control.pause();
    control.reset();
    assert.equal(control.paused, false);
    assert.equal(rtc.listenerCount, 0);
    rtc.refuse = false;
    await rtc.play(); // a new space's audio plays as usual
    assert.equal(rtc.paused, false);
  });
});

class FakeSession implements MediaSessionLike {
  metadata: MediaMetadata | null = null;
  playbackState: MediaSessionPlaybackState = 'none';
  handlers = new Map<string, MediaSessionActionHandler | null>();

  setActionHandler(action: MediaSessionAction, handler: MediaSessionActionHandler | null): void {
    if (action === 'skipad') throw new TypeError('unknown action');
    this.handlers.set(action, handler);
  }

  act(action: MediaSessionAction): void {
    const handler = this.handlers.get(action);
    assert.ok(handler, `no handler for ${action}`);
    handler({ action });
  }
}

describe('MediaSessionSync', () => {
  function setup() {
    const rtc = playing('webrtc');
    const control = new PauseControl(() => [rtc]);
    const session = new FakeSession();
    const made: NowPlaying[] = [];
    const sync = new MediaSessionSync(session, control, (now) => {
      made.push(now);
      return { title: now.title, artist: now.artist } as MediaMetadata;
    });
    return { rtc, control, session, made, sync };
  }

  it('shows the space, and play/pause from the OS pause and resume this browser only', async () => {
    const { rtc, control, session, made, sync } = setup();
    const now = nowPlayingFor(space);
    sync.show(now);
    assert.equal(session.metadata?.title, 'Morning show');
    assert.equal(session.metadata?.artist, 'Hal Host (@hal)');
    assert.equal(session.playbackState, 'playing');

    session.act('pause');
    assert.equal(control.paused, true);
    assert.equal(rtc.paused, true);
    sync.show(now); // the app re-renders on the change
    assert.equal(session.playbackState, 'paused');

    session.act('play');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(control.paused, false);
    assert.equal(rtc.paused, false);
    sync.show(now);
    assert.equal(session.playbackState, 'playing');

    // The same space again: the metadata is not made anew.
    sync.show(nowPlayingFor(space));
    assert.equal(made.length, 1);
    sync.show(nowPlayingFor({ ...space, title: 'Renamed' }));
    assert.equal(made.length, 2);
    assert.equal(session.metadata?.title, 'Renamed');
  });

  it('offers play while autoplay is blocked, and play starts the audio', async () => {
    const { rtc, control, session, sync } = setup();
    let started = 0;
    control.player = async () => {
      started += 1;
    };
    sync.show(nowPlayingFor(space), true);
    assert.equal(session.playbackState, 'paused');
    session.act('play');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(started, 1);
    assert.equal(rtc.plays, 0); // through the room's player
    sync.show(nowPlayingFor(space), false);
    assert.equal(session.playbackState, 'playing');
  });

  it('clears the controls when the space stops playing', () => {
    const { session, sync } = setup();
    sync.show(nowPlayingFor(space));
    sync.show(null);
    assert.equal(session.metadata, null);
    assert.equal(session.playbackState, 'none');
    assert.equal(session.handlers.get('play'), null);
    assert.equal(session.handlers.get('pause'), null);
  });
});
