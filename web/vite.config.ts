import { defineConfig } from 'vite';

// Preact through the bundler's own JSX transform (Vite 8 transforms with Oxc;
// its `esbuild` option is deprecated), so no framework plugin is needed.
export default defineConfig({
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
