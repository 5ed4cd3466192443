// WebRTC signaling for one media session (docs/api.md): WHEP to listen to the full mix, WHIP to
// publish from the stage (sendrecv: the answer sends back my mix-minus on the same connection).
// No trickle ICE: the offer goes out once ICE gathering is complete.
import { ApiError, readCookie } from './api';
import type { MediaKind } from './audioRules';

const ICE_GATHERING_TIMEOUT_MS = 3000;

// --- sessions --------------------------------------------------------------------------------
/** Session URLs still open, so leaving the page can close them on the server. */
const openLocations = new Set<string>();
let pagehideInstalled = false;

function csrfHeaders(): Record<string, string> {
  const csrf = readCookie('parley_csrf');
  return csrf ? { 'X-CSRF-Token': csrf } : {};
}

function deleteSession(location: string, keepalive = false): void {
  openLocations.delete(location);
  void fetch(location, {
    method: 'DELETE', credentials: 'same-origin', headers: csrfHeaders(), keepalive,
  }).catch(() => undefined);
}

function installPagehide(): void {
  if (pagehideInstalled) return;
  pagehideInstalled = true;
  window.addEventListener('pagehide', () => {
    for (const location of [...openLocations]) deleteSession(location, true);
  });
}

async function postOffer(path: string, sdp: string): Promise<{ answer: string; location: string }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp, application/json', ...csrfHeaders() },
      body: sdp,
    });
  } catch {
    throw new ApiError(0, { error: 'network', message: 'Could not reach the server for audio.' }, null);
  }
  const text = await response.text();
  if (!response.ok) {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, body, null);
  }
  const location = response.headers.get('Location');
  if (!location) throw new ApiError(502, { error: 'bad_answer', message: 'The audio answer had no session URL.' }, null);
  return { answer: text, location: new URL(location, window.location.href).pathname };
}

function iceGatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      window.clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    // With no ICE servers gathering ends fast; if it lingers, go with what is there.
    const timer = window.setTimeout(done, ICE_GATHERING_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

export class MediaSession {
  private location: string | null = null;
  private closed = false;
  stream: MediaStream | null = null;

  private constructor(readonly kind: MediaKind, readonly pc: RTCPeerConnection) {}

  static async open(
    kind: MediaKind,
    spaceId: number,
    mic: MediaStreamTrack | null,
    onState: (session: MediaSession, state: RTCPeerConnectionState) => void,
  ): Promise<MediaSession> {
    installPagehide();
    const pc = new RTCPeerConnection({ iceServers: [] });
    const session = new MediaSession(kind, pc);
    pc.ontrack = (event) => {
      if (event.track.kind === 'audio') session.stream = event.streams[0] ?? new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = () => {
      if (!session.closed) onState(session, pc.connectionState);
    };
    try {
      if (kind === 'whip') {
        if (!mic) throw new Error('no microphone to publish');
        pc.addTransceiver(mic, { direction: 'sendrecv' });
      } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc);
      const offer = pc.localDescription?.sdp;
      if (!offer) throw new Error('no local offer');
      const { answer, location } = await postOffer(`/api/spaces/${spaceId}/${kind}`, offer);
      session.location = location;
      openLocations.add(location);
      if (session.closed) throw new Error('closed');
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      if (!session.stream) {
        const track = pc.getReceivers().map((r) => r.track).find((t) => t.kind === 'audio');
        if (track) session.stream = new MediaStream([track]);
      }
      return session;
    } catch (err) {
      session.close();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    if (this.location) deleteSession(this.location);
  }
}
