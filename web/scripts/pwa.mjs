// The installable app, made by the build (a Vite plugin; vite.config.ts): the web app manifest,
// the icons (scripts/icons.mjs) and the service worker (src/sw.js, filled in with this build's
// version and app shell files). Colours come from src/styles.css, so the manifest, the icons
// and index.html's theme-color always match the stylesheet.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { iconFiles } from './icons.mjs';

const STYLES = new URL('../src/styles.css', import.meta.url);
const SERVICE_WORKER = new URL('../src/sw.js', import.meta.url);
export const MANIFEST_FILE = 'manifest.webmanifest';
export const SERVICE_WORKER_FILE = 'sw.js';

/** The value of a `--name: #rrggbb;` custom property in the stylesheet. */
export function cssColor(css, name) {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})\\s*;`).exec(css);
  if (!m) throw new Error(`pwa: no --${name}: #rrggbb; in src/styles.css`);
  return m[1].toLowerCase();
}

/** theme: the header bar's surface, next to the browser's own UI; background: the page's. */
export function appColors(css) {
  return { theme: cssColor(css, 'surface'), background: cssColor(css, 'bg'), accent: cssColor(css, 'accent') };
}

export function webManifest(colors) {
  const icon = (file, size, purpose) => ({ src: `/icons/${file}`, sizes: `${size}x${size}`, type: 'image/png', purpose });
  return {
    id: '/',
    name: 'Parley',
    short_name: 'Parley',
    description: 'Live audio conversations: listen in, raise your hand, and talk.',
    lang: 'en',
    start_url: '/',
    scope: '/',
    display: 'standalone',
    theme_color: colors.theme,
    background_color: colors.background,
    icons: [
      icon('icon-192.png', 192, 'any'),
      icon('icon-512.png', 512, 'any'),
      icon('maskable-192.png', 192, 'maskable'),
      icon('maskable-512.png', 512, 'maskable'),
    ],
  };
}

/** The manifest and icons: path under the site root -> contents. */
export function appFiles(css) {
  const colors = appColors(css);
  return {
    [MANIFEST_FILE]: `${JSON.stringify(webManifest(colors), null, 2)}\n`,
    ...iconFiles({ background: colors.accent, glyph: '#ffffff' }),
  };
}

/**
 * The service worker for an app shell (path under the root -> contents): its version is a hash
 * of the shell's paths and contents, so any change to the build makes a new worker.
 */
export function serviceWorker(template, shell) {
  const paths = Object.keys(shell).sort();
  const hash = createHash('sha256');
  for (const path of paths) hash.update(`${path}\0`).update(shell[path]).update('\0');
  const version = hash.digest('hex').slice(0, 16);
  const urls = paths.map((path) => `/${path}`);
  for (const url of urls) {
    if (/^\/(api|hls|media)(\/|$)/.test(url)) throw new Error(`pwa: ${url} must never be cached`);
  }
  return template
    .replace("'__PARLEY_VERSION__'", JSON.stringify(version))
    .replace('__PARLEY_SHELL_FILES__', JSON.stringify(urls));
}

/** index.html's `<meta name="theme-color">`. */
function metaThemeColor(html) {
  return /<meta\s+name="theme-color"\s+content="(#[0-9a-fA-F]{6})"/.exec(html)?.[1].toLowerCase() ?? null;
}

const CONTENT_TYPES = { '.png': 'image/png', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };

export function pwa() {
  return {
    name: 'parley-pwa',
    // After Vite's own plugins, so index.html and every chunk are in the bundle.
    enforce: 'post',
    configureServer(server) {
      // `npm run dev`: the manifest and icons (no service worker: it would cache dev modules).
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0].slice(1);
        const files = path === MANIFEST_FILE || path.startsWith('icons/') ? appFiles(readFileSync(STYLES, 'utf8')) : {};
        const body = files[path];
        if (body === undefined) return next();
        const type = CONTENT_TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
        res.setHeader('Content-Type', type);
        res.end(body);
      });
    },
    generateBundle(_options, bundle) {
      const css = readFileSync(STYLES, 'utf8');
      const files = appFiles(css);
      const shell = {};
      for (const [fileName, output] of Object.entries(bundle)) {
        if (fileName.endsWith('.map')) continue;
        shell[fileName] = output.type === 'chunk' ? output.code : output.source;
      }
      const html = shell['index.html'];
      if (html === undefined) this.error('pwa: index.html is not in the bundle');
      const expected = appColors(css).theme;
      if (metaThemeColor(String(html)) !== expected) {
        this.error(`pwa: index.html's <meta name="theme-color"> must be ${expected} (--surface in src/styles.css)`);
      }
      for (const [fileName, source] of Object.entries(files)) {
        this.emitFile({ type: 'asset', fileName, source });
        shell[fileName] = source;
      }
      const template = readFileSync(SERVICE_WORKER, 'utf8');
      this.emitFile({ type: 'asset', fileName: SERVICE_WORKER_FILE, source: serviceWorker(template, shell) });
    },
  };
}
