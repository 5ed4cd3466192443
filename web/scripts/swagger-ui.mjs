// The API docs' page (/api/docs, src/parley/api/static.py) runs Swagger UI from our own files,
// never from a CDN: the build copies the files of the swagger-ui-dist package that
// package-lock.json pins into swagger-ui/ next to the app. Copied after the bundle is written,
// so they stay out of the service worker's app shell (scripts/pwa.mjs): only the docs use them.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SWAGGER_UI_DIR = 'swagger-ui';
export const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'];

export function swaggerUi() {
  let outDir = '';
  return {
    name: 'parley-swagger-ui',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    writeBundle() {
      const source = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
      const target = join(outDir, SWAGGER_UI_DIR);
      mkdirSync(target, { recursive: true });
      for (const file of SWAGGER_UI_FILES) copyFileSync(join(source, file), join(target, file));
    },
  };
}
