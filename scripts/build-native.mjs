// Builds the optional N-API addon in native/ (ISMRMRD HDF5 over Debian's libismrmrd).
// A failed build is reported and tolerated: the server runs without it; file I/O says what is missing.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const here = new URL('../native/', import.meta.url);
if (!existsSync(new URL('binding.gyp', here))) process.exit(0);
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('gantry: node-gyp is not installed; skipping the native addon');
  process.exit(0);
}
// Prefer the headers installed beside this Node binary (e.g. /usr/include/node): no download needed.
const prefix = dirname(dirname(process.execPath));
const args = [gyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
const result = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
if (result.status !== 0) {
  console.warn('gantry: the native addon did not build (install libismrmrd-dev and libhdf5-dev); HDF5 file I/O is unavailable');
}
