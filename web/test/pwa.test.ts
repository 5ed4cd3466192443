// Unit tests for the installable app that the build makes (scripts/pwa.mjs, scripts/icons.mjs):
// the manifest and its icons, and the service worker (src/sw.js) run in a sandbox with fake
// caches and network: what it caches, what it never touches (the API, HLS, media), what it
// answers offline, and how a new version replaces the old.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

// npm test runs in web/.
const WEB = process.cwd();

interface Manifest {
  id: string;
  name: string;
  short_name: string;
  start_url: string;
  scope: string;
  display: string;
  theme_color: string;
  background_color: string;
  icons: { src: string; sizes: string; type: string; purpose: string }[];
}

interface PwaModule {
  MANIFEST_FILE: string;
  appColors(css: string): { theme: string; background: string; accent: string };
  webManifest(colors: { theme: string; background: string }): Manifest;
  appFiles(css: string): Record<string, string | Uint8Array>;
  serviceWorker(template: string, shell: Record<string, string | Uint8Array>): string;
}

// The build's scripts are ES modules; these tests are compiled to CommonJS, where a written
// import() would become require().
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
const loadPwa = () => importModule(pathToFileURL(join(WEB, 'scripts', 'pwa.mjs')).href) as Promise<PwaModule>;

const css = readFileSync(join(WEB, 'src', 'styles.css'), 'utf8');
const template = readFileSync(join(WEB, 'src', 'sw.js'), 'utf8');

function pngSize(bytes: Uint8Array): [number, number] {
  const buffer = Buffer.from(bytes);
  assert.deepEqual([...buffer.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(buffer.toString('ascii', 12, 16), 'IHDR');
  return [buffer.readUInt32BE(16), buffer.readUInt32BE(20)];
}

describe('the web app manifest', () => {
  it('names the app, starts and scopes it at the root, standalone, in the stylesheet colours', async () => {
    const pwa = await loadPwa();
    const files = pwa.appFiles(css);
    const manifest = JSON.parse(String(files[pwa.MANIFEST_FILE])) as Manifest;
    assert.equal(manifest.name, 'Parley');
    assert.equal(manifest.short_name, 'Parley');
    assert.equal(manifest.start_url, '/');
    assert.equal(manifest.scope, '/');
    assert.equal(manifest.id, '/');
    assert.equal(manifest.display, 'standalone');
    assert.match(css, new RegExp(`--surface:\\s*${manifest.theme_color};`, 'i'));
    assert.match(css, new RegExp(`--bg:\\s*${manifest.background_color};`, 'i'));
    const index = readFileSync(join(WEB, 'index.html'), 'utf8');
    assert.ok(index.includes(`<meta name="theme-color" content="${manifest.theme_color}"`));
    assert.ok(index.includes('<link rel="manifest" href="/manifest.webmanifest"'));
    assert.ok(index.includes('<link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"'));
  });

  it('lists 192 and 512 px PNG icons and maskable ones, each made at its size', async () => {
    const pwa = await loadPwa();
    const files = pwa.appFiles(css);
    const manifest = JSON.parse(String(files[pwa.MANIFEST_FILE])) as Manifest;
    const any = manifest.icons.filter((icon) => icon.purpose === 'any').map((icon) => icon.sizes);
    const maskable = manifest.icons.filter((icon) => icon.purpose === 'maskable').map((icon) => icon.sizes);
    assert.deepEqual(any, ['192x192', '512x512']);
    assert.ok(maskable.includes('512x512'));
    for (const icon of manifest.icons) {
      assert.equal(icon.type, 'image/png');
      const bytes = files[icon.src.slice(1)];
      assert.ok(bytes instanceof Uint8Array, icon.src);
      const side = Number(icon.sizes.split('x')[0]);
      assert.deepEqual(pngSize(bytes), [side, side], icon.src);
    }
    assert.deepEqual(pngSize(files['icons/apple-touch-icon.png'] as Uint8Array), [180, 180]);
    assert.match(String(files['icons/icon.svg']), /^<svg /);
  });
});

describe('serviceWorker (the build step)', () => {
  it('versions the worker by the shell: any changed file makes a new worker', async () => {
    const pwa = await loadPwa();
    const shell = { 'index.html': '<html>', 'assets/index-1.js': 'one' };
    const first = pwa.serviceWorker(template, shell);
    assert.equal(pwa.serviceWorker(template, { ...shell }), first);
    assert.notEqual(pwa.serviceWorker(template, { ...shell, 'index.html': '<html lang=en>' }), first);
    assert.ok(!first.includes('__PARLEY_'));
  });

  it('refuses to put the API or media in the shell', async () => {
    const pwa = await loadPwa();
    for (const path of ['api/me', 'hls/1/live/x/live.m3u8', 'media/x']) {
      assert.throws(() => pwa.serviceWorker(template, { [path]: 'x' }), /never be cached/);
    }
  });
});

// --- the service worker, in a sandbox --------------------------------------------------------
const ORIGIN = 'http://parley.test';
const SHELL = {
  'index.html': '<!doctype html><title>Parley</title>',
  'assets/index-abc.js': 'app',
  'assets/index-abc.css': 'p{}',
  'manifest.webmanifest': '{}',
  'icons/icon-192.png': 'png',
};

class FakeCaches {
  readonly stores = new Map<string, Map<string, Response>>();
  constructor(private readonly network: FakeNetwork) {}

  async open(name: string) {
    let store = this.stores.get(name);
    if (!store) {
      store = new Map();
      this.stores.set(name, store);
    }
    const network = this.network;
    const entries = store;
    return {
      async addAll(paths: string[]) {
        for (const path of paths) {
          entries.set(path, await network.fetch({ url: `${ORIGIN}${path}` }));
        }
      },
    };
  }

  async keys() {
    return [...this.stores.keys()];
  }

  async delete(name: string) {
    return this.stores.delete(name);
  }

  async match(request: string | { url: string }, options: { cacheName?: string } = {}) {
    const path = typeof request === 'string' ? request : new URL(request.url).pathname;
    const names = options.cacheName ? [options.cacheName] : [...this.stores.keys()];
    for (const name of names) {
      const hit = this.stores.get(name)?.get(path);
      if (hit) return hit.clone();
    }
    return undefined;
  }
}

class FakeNetwork {
  online = true;
  /** What the server has now: the latest build. */
  files: Record<string, string> = SHELL;

  async fetch(request: { url: string }): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (!this.online) throw new TypeError('Failed to fetch');
    const body = this.files[path.slice(1)] ?? `network ${path}`;
    return new Response(body, { status: 200 });
  }
}

interface FakeRequest {
  url: string;
  method: string;
  mode: string;
  headers: Headers;
}

function request(path: string, init: { method?: string; mode?: string; headers?: Record<string, string> } = {}): FakeRequest {
  return {
    url: path.startsWith('http') ? path : `${ORIGIN}${path}`,
    method: init.method ?? 'GET',
    mode: init.mode ?? 'cors',
    headers: new Headers(init.headers ?? {}),
  };
}

async function loadWorker(shell: Record<string, string> = SHELL, existing?: { caches: FakeCaches; network: FakeNetwork }) {
  const pwa = await loadPwa();
  const source = pwa.serviceWorker(template, shell);
  const network = existing?.network ?? new FakeNetwork();
  network.files = shell;
  const caches = existing?.caches ?? new FakeCaches(network);
  const listeners = new Map<string, (event: unknown) => void>();
  let claimed = 0;
  let skipped = 0;
  const shown: { title: string; options: { body: string; data: { link: string }; tag?: string } }[] = [];
  const windows: { url: string; focused: number; navigated: string[] }[] = [];
  const opened: string[] = [];
  const self = {
    location: { origin: ORIGIN },
    registration: {
      showNotification: async (title: string, options: { body: string; data: { link: string } }) => { shown.push({ title, options }); },
    },
    clients: {
      claim: async () => { claimed += 1; },
      matchAll: async () => windows.map((w) => ({
        url: w.url,
        focus: async () => { w.focused += 1; },
        navigate: async (url: string) => { w.navigated.push(url); },
      })),
      openWindow: async (url: string) => { opened.push(url); },
    },
    skipWaiting: async () => { skipped += 1; },
    addEventListener: (type: string, listener: (event: unknown) => void) => listeners.set(type, listener),
  };
  const sandbox = {
    self,
    caches,
    fetch: (req: { url: string }) => network.fetch(req),
    Response,
    Headers,
    URL,
    URLPattern: class {
      constructor(readonly init: { pathname: string }) {}
    },
  };
  vm.runInNewContext(source, sandbox, { filename: 'sw.js' });

  /** `routes`: the browser's Static Routing API, which gets the worker's rules. */
  async function lifecycle(type: 'install' | 'activate', routes?: unknown[]) {
    let done: Promise<unknown> = Promise.resolve();
    const event: Record<string, unknown> = { waitUntil: (promise: Promise<unknown>) => { done = promise; } };
    if (routes) event.addRoutes = async (rules: unknown[]) => { routes.push(...rules); };
    listeners.get(type)!(event);
    await done;
  }

  /** The worker's answer, or null when it leaves the request to the browser. */
  async function handle(req: FakeRequest): Promise<Response | null> {
    let answer: Promise<Response> | null = null;
    listeners.get('fetch')!({ request: req, respondWith: (promise: Promise<Response>) => { answer = promise; } });
    return answer ? await answer : null;
  }

  /** A push with this payload (an object: JSON; a string: plain text). */
  async function push(payload: unknown) {
    let done: Promise<unknown> = Promise.resolve();
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const data = { text: () => text, json: () => JSON.parse(text) as unknown };
    listeners.get('push')!({ data, waitUntil: (promise: Promise<unknown>) => { done = promise; } });
    await done;
  }

  /** A click on a shown notification. */
  async function click(link: string) {
    let done: Promise<unknown> = Promise.resolve();
    let closed = 0;
    const notification = { data: { link }, close: () => { closed += 1; } };
    listeners.get('notificationclick')!({ notification, waitUntil: (promise: Promise<unknown>) => { done = promise; } });
    await done;
    return closed;
  }

  const version = /const VERSION = "([0-9a-f]+)"/.exec(source)![1];
  return {
    caches, network, lifecycle, handle, version, counts: () => ({ claimed, skipped }), push, click, shown, windows, opened,
  };
}

describe('the service worker', () => {
  it('caches exactly the app shell at install, and takes over at once', async () => {
    const sw = await loadWorker();
    await sw.lifecycle('install');
    await sw.lifecycle('activate');
    const names = await sw.caches.keys();
    assert.deepEqual(names, [`parley-shell-${sw.version}`]);
    const cached = [...sw.caches.stores.get(names[0])!.keys()].sort();
    assert.deepEqual(cached, Object.keys(SHELL).map((path) => `/${path}`).sort());
    assert.deepEqual(sw.counts(), { claimed: 1, skipped: 1 });
  });

  it('has the browser send the API, HLS and media past it, where it can', async () => {
    const sw = await loadWorker();
    const routes: { condition: { urlPattern: { init: { pathname: string } } }; source: string }[] = [];
    await sw.lifecycle('install', routes);
    assert.deepEqual(
      routes.map((rule) => [rule.condition.urlPattern.init.pathname, rule.source]),
      [['/api/*', 'network'], ['/hls/*', 'network'], ['/media/*', 'network']],
    );
    assert.equal((await sw.caches.keys()).length, 1); // and the shell is cached as before
  });

  it('never answers the API, HLS, media, ranges, other origins or writes', async () => {
    const sw = await loadWorker();
    await sw.lifecycle('install');
    const untouched = [
      request('/api/me'),
      request('/api'),
      request('/api/spaces/1/recording.m4a', { mode: 'navigate' }), // a download
      request('/api/clips/abc/audio.m4a', { headers: { Range: 'bytes=0-' } }),
      request('/hls/1/live/123/sig/live.m3u8'),
      request('/hls/1/replay/123/sig/seg-1.m4s'),
      request('/media/anything'),
      request('/assets/index-abc.js', { headers: { Range: 'bytes=0-10' } }),
      request('/', { method: 'POST', mode: 'navigate' }),
      request('/api/spaces', { method: 'POST' }),
      request('http://elsewhere.test/assets/index-abc.js'),
      request('/assets/not-in-the-shell.js'),
    ];
    for (const req of untouched) assert.equal(await sw.handle(req), null, `${req.method} ${req.url}`);
  });

  it('serves the shell files from its cache, even offline', async () => {
    const sw = await loadWorker();
    await sw.lifecycle('install');
    sw.network.online = false;
    const script = await sw.handle(request('/assets/index-abc.js'));
    assert.equal(await script!.text(), 'app');
    const icon = await sw.handle(request('/icons/icon-192.png'));
    assert.equal(await icon!.text(), 'png');
  });

  it('loads app pages from the network, and from the cached shell offline', async () => {
    const sw = await loadWorker();
    await sw.lifecycle('install');
    const online = await sw.handle(request('/s/12', { mode: 'navigate' }));
    assert.equal(await online!.text(), 'network /s/12');
    sw.network.online = false;
    for (const path of ['/', '/s/12', '/clips/abc', '/spaces/3/replay']) {
      const offline = await sw.handle(request(path, { mode: 'navigate' }));
      assert.equal(offline!.status, 200, path);
      assert.equal(await offline!.text(), SHELL['index.html'], path);
    }
  });

  it('says "You are offline" for a page when even the shell is missing', async () => {
    const sw = await loadWorker();
    sw.network.online = false; // never installed
    const page = await sw.handle(request('/', { mode: 'navigate' }));
    assert.equal(page!.status, 503);
    assert.match(await page!.text(), /You are offline/);
  });

  it('a new build replaces the old cache, leaving other caches alone', async () => {
    const old = await loadWorker();
    await old.lifecycle('install');
    await old.lifecycle('activate');
    await old.caches.open('someone-else');
    const next = await loadWorker({ ...SHELL, 'assets/index-def.js': 'new app' }, old);
    assert.notEqual(next.version, old.version);
    await next.lifecycle('install');
    assert.equal((await next.caches.keys()).length, 3); // both while the new one installs
    await next.lifecycle('activate');
    assert.deepEqual((await next.caches.keys()).sort(), [`parley-shell-${next.version}`, 'someone-else']);
    const script = await next.handle(request('/assets/index-def.js'));
    assert.equal(await script!.text(), 'new app');
  });
});

describe('the service worker and Web Push', () => {
  it('shows a push with its text, and keeps where it leads', async () => {
    const sw = await loadWorker();
    await sw.push({ id: 7, kind: 'live', title: 'Parley', body: 'Ann is live: Night owls', link: '/s/12' });
    assert.equal(sw.shown.length, 1);
    assert.equal(sw.shown[0].title, 'Parley');
    assert.equal(sw.shown[0].options.body, 'Ann is live: Night owls');
    assert.equal(sw.shown[0].options.data.link, '/s/12');
    assert.equal(sw.shown[0].options.tag, 'parley-7');
  });

  it('never leads off the site, and shows a payload that is not JSON as text', async () => {
    const sw = await loadWorker();
    await sw.push({ body: 'x', link: 'https://evil.example/' });
    await sw.push({ body: 'y', link: '//evil.example/' });
    await sw.push('plain words');
    assert.deepEqual(sw.shown.map((n) => n.options.data.link), ['/notifications', '/notifications', '/notifications']);
    assert.equal(sw.shown[2].options.body, 'plain words');
  });

  it('focuses a tab on the link, else takes a Parley tab there, else opens a window', async () => {
    const sw = await loadWorker();
    assert.equal(await sw.click('/s/12'), 1);
    assert.deepEqual(sw.opened, [`${ORIGIN}/s/12?via=notification`]);

    sw.windows.push({ url: `${ORIGIN}/`, focused: 0, navigated: [] });
    await sw.click('/s/12');
    assert.deepEqual(sw.windows[0], { url: `${ORIGIN}/`, focused: 1, navigated: [`${ORIGIN}/s/12?via=notification`] });

    sw.windows.unshift({ url: `${ORIGIN}/s/12`, focused: 0, navigated: [] });
    await sw.click('/s/12');
    assert.equal(sw.windows[0].focused, 1);
    assert.deepEqual(sw.windows[0].navigated, []);
    assert.equal(sw.opened.length, 1);
  });
});
