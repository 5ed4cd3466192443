import { defineConfig } from 'vite';
import { pwa } from './scripts/pwa.mjs';
import { swaggerUi } from './scripts/swagger-ui.mjs';

// Preact through the bundler's own JSX transform (Vite 8 transforms with Oxc;
// its `esbuild` option is deprecated), so no framework plugin is needed.
// pwa(): the web app manifest, the icons and the service worker (scripts/pwa.mjs).
// swaggerUi(): Swagger UI's files for the API docs (scripts/swagger-ui.mjs).
export default defineConfig({
  plugins: [pwa(), swaggerUi()],
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: '../src/parley/static',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: true },
      '/hls': { target: 'http://127.0.0.1:8000' },
    },
  },
});
