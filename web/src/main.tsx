import { render } from 'preact';
import { App } from './App';
import { installLinkInterception } from './router';
import './styles.css';

installLinkInterception();
render(<App />, document.getElementById('app')!);

// The service worker (src/sw.js, built by scripts/pwa.mjs) makes the app installable and opens
// its shell offline. Registered once the page has loaded, so it never competes with the first
// load; not in `npm run dev`, where it would cache the dev server's modules.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
