// Builds the optional N-API addons, each on its own so one missing library does not stop the other:
//   native/          ISMRMRD HDF5 files over Debian's libismrmrd (libismrmrd-dev, libhdf5-dev)
//   native/kernels/  FFT and BLAS kernels over FFTW 3 and OpenBLAS (libfftw3-dev, libopenblas-dev)
// A failed build is reported and tolerated: without the first, HDF5 file I/O says what is missing;
// without the second, the TypeScript kernels run instead (slower, same results within float32 rounding).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const addons = [
  {
    dir: new URL('../native/', import.meta.url),
    failed: 'gantry: the ISMRMRD HDF5 addon did not build (install libismrmrd-dev and libhdf5-dev); HDF5 file I/O is unavailable',
  },
  {
    dir: new URL('../native/kernels/', import.meta.url),
    failed: 'gantry: the kernels addon did not build (install libfftw3-dev and libopenblas-dev); the TypeScript FFT and BLAS kernels will be used',
  },
];

const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('gantry: node-gyp is not installed; skipping the native addons');
  process.exit(0);
}
// Prefer the headers installed beside this Node binary (e.g. /usr/include/node): no download needed.
const prefix = dirname(dirname(process.execPath));
const args = [gyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
for (const addon of addons) {
  if (!existsSync(new URL('binding.gyp', addon.dir))) continue;
  const result = spawnSync(process.execPath, args, { cwd: addon.dir, stdio: 'inherit' });
  if (result.status !== 0) console.warn(addon.failed);
}
