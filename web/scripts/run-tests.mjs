// Runs the compiled unit tests (tsconfig.test.json emits CommonJS into the cache folder,
// which is inside a "type": "module" package, so it gets its own package.json).
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = 'node_modules/.cache/parley-test';
writeFileSync(join(out, 'package.json'), '{"type": "commonjs"}\n');
const tests = readdirSync(join(out, 'test'))
  .filter((name) => name.endsWith('.test.js'))
  .map((name) => join(out, 'test', name));
const result = spawnSync(process.execPath, ['--test', ...tests], { stdio: 'inherit' });
process.exit(result.status ?? 1);
