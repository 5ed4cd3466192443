// Parley's service worker, served at /sw.js (scope /). The build (scripts/pwa.mjs) fills in the
// version and the files of the app shell: index.html, the built JS and CSS, the icons and the
// manifest. Only those are ever cached, at install: the API, HLS and every other media (live
// audio, recordings, downloads, clip audio) always go to the network, untouched.
// A new build is a new version: it installs its own cache, takes over at once, and deletes
// the caches of older versions.
/* eslint-env serviceworker */
'use strict';

const VERSION = '__PARLEY_VERSION__';
const SHELL_FILES = __PARLEY_SHELL_FILES__;
const CACHE_PREFIX = 'parley-shell-';
const CACHE = CACHE_PREFIX + VERSION;
const SHELL_PAGE = '/index.html';
/** Never answered from (or put in) a cache: live data and media. */
const NETWORK_ONLY = /^\/(api|hls|media)(\/|$)/;

const OFFLINE_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8">'
  + '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · Parley</title>'
  + '</head><body><main><h1>You are offline</h1><p>Parley needs a connection. '
  + 'Reload this page once you are back online.</p></main></body></html>';

/**
 * How to answer a request: 'shell' (an app page: the network, else the cached shell),
 * 'cache' (a file of the shell: the cache, else the network), or null (left to the browser).
 */
function routeFor(request, scopeOrigin) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== scopeOrigin) return null;
  if (NETWORK_ONLY.test(url.pathname) || request.headers.has('range')) return null;
  if (request.mode === 'navigate') return 'shell';
  if (SHELL_FILES.includes(url.pathname)) return 'cache';
  return null;
}

async function shellPage(request) {
  try {
    return await fetch(request);
  } catch {
    // Offline or the server out of reach: the app opens from the cache and says so.
    const cached = await caches.match(SHELL_PAGE, { cacheName: CACHE });
    return cached || new Response(OFFLINE_PAGE, {
      status: 503,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
    });
  }
}

async function shellFile(request) {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

/**
 * Where the browser has the Static Routing API (Chromium), the API, HLS and media do not even
 * wake this worker: the browser sends them to the network itself.
 */
async function bypassForLiveData(event) {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern !== 'function') return;
  try {
    await event.addRoutes(['/api/*', '/hls/*', '/media/*'].map((pathname) => ({
      condition: { urlPattern: new URLPattern({ pathname }) },
      source: 'network',
    })));
  } catch {
    // An older form of the API: the fetch handler below leaves them alone all the same.
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    await bypassForLiveData(event);
    const cache = await caches.open(CACHE);
    // Through the HTTP cache: hashed assets never change under one name, and the rest is
    // served no-cache, so what comes back is this build's.
    await cache.addAll(SHELL_FILES);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const route = routeFor(event.request, self.location.origin);
  if (route === 'shell') event.respondWith(shellPage(event.request));
  else if (route === 'cache') event.respondWith(shellFile(event.request));
});

// Web Push (issue 13): the server's payload is JSON {id, kind, title, body, link}; a payload that is
// not JSON is shown as its text. The link is kept to this site's own paths.
function pushContent(event) {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const link = typeof data.link === 'string' && data.link.startsWith('/') && !data.link.startsWith('//')
    ? data.link : '/notifications';
  return {
    title: typeof data.title === 'string' && data.title ? data.title : 'Parley',
    options: {
      body: typeof data.body === 'string' ? data.body : (typeof data.text === 'string' ? data.text : ''),
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      // One notification once, however often it is pushed.
      tag: typeof data.id === 'number' ? `parley-${data.id}` : undefined,
      data: { link },
    },
  };
}

self.addEventListener('push', (event) => {
  const { title, options } = pushContent(event);
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || '/notifications';
  const url = new URL(link, self.location.origin);
  const shown = url.href;
  // A space opened from a push came from a notification (the host's analytics); a tab already
  // on it (the room drops `via` from its address) is only focused.
  if (/^\/s\/\d+\/?$/.test(url.pathname) && !url.searchParams.has('via')) url.searchParams.set('via', 'notification');
  const target = url.href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    // A tab already on the link, else any Parley tab taken there, else a new window.
    const exact = open.find((client) => client.url === target || client.url === shown);
    if (exact) return exact.focus();
    const any = open.find((client) => new URL(client.url).origin === self.location.origin);
    if (any) {
      await any.focus();
      return 'navigate' in any ? any.navigate(target) : undefined;
    }
    return self.clients.openWindow(target);
  })());
});
