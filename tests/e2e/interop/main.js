// Nothing of Parley here: only the two libraries, as another site would use them.
import { WHIPClient } from '@eyevinn/whip-web-client';
import { WHEPClient } from 'whip-whep/whep.js';

window.publishWithWhip = async (endpoint, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const client = new WHIPClient({
    endpoint,
    opts: { authkey: token, noTrickleIce: true, iceServers: [] },
  });
  await client.ingest(stream);
  window.whipClient = client;
  return 'publishing';
};

window.listenWithWhep = async (endpoint, token) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (event) => {
    const audio = document.getElementById('heard');
    audio.srcObject = event.streams[0] || new MediaStream([event.track]);
  };
  const client = new WHEPClient();
  await client.view(pc, endpoint, token);
  window.whepClient = client;
  window.whepPc = pc;
  return 'listening';
};
