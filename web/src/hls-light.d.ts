// hls.js's light build (no subtitles, alternate renditions, DRM or CMCD: an audio-only
// stream needs none of them) ships without its own typings; it has the full build's API.
declare module 'hls.js/light' {
  import Hls from 'hls.js';
  export default Hls;
}
