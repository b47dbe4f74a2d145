/**
 * Offline reconstruction: runs a pipeline in-process over an ISMRMRD file and
 * stores the images exactly as the client would. The input is read in blocks
 * on a worker thread (see IsmrmrdFile.acquisitionBlocks), so reading the next
 * block overlaps reconstructing the current one.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadStreamConfiguration, parseStreamConfiguration } from '../config/index.js';
import { Channel } from '../engine/channel.js';
import { planPipeline, runChain } from '../engine/pipeline.js';
import { IsmrmrdFile } from '../formats/index.js';
import { lazyDefaultRegistry } from '../gadgets/catalogue.js';
import type { PlaceReadoutsArgs } from '../gadgets/generic-recon-tasks.js';
import type { Message } from '../ismrmrd/messages.js';
import type { Image } from '../ismrmrd/types.js';
import { parseIsmrmrdHeader, type IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { DependencyStore } from '../storage/types.js';
import { createLogger } from '../util/logger.js';
import type { ReconProgress } from './progress.js';

/** Offline reconstruction settings. */
export interface OfflineReconOptions {
  filename: string;
  inGroup: string;
  outFile: string;
  outGroup: string;
  config: string;
  configLocal?: string;
  configDirs: string[];
  /** Where NoiseAdjust saves and loads noise covariances. */
  storage?: DependencyStore;
  /** Stream parameters (`noisecovariancein`, `noisecovarianceout`, …). */
  parameters?: ReadonlyMap<string, string>;
  /** Receives each image instead of the HDF5 output (for DICOM or PNG output); images of DICOM messages count too. */
  onImage?: (image: Image, index: number, header: IsmrmrdHeader) => void | Promise<void>;
  /** Called after each block of acquisitions is queued and after each image. */
  onProgress?: (progress: ReconProgress) => void;
  /** Slices (buckets, recon buffers) the pipeline holds at once (default 2; `SliceBudget`). */
  slicesInFlight?: number;
}

/** Reconstructs `filename` and appends the images to `outFile`. */
export async function runOfflineRecon(options: OfflineReconOptions): Promise<{ images: number }> {
  if (fileBytes(options.filename) >= EARLY_THREADS_BYTES) startComputeThreads();
  const config = options.configLocal
    ? parseStreamConfiguration(await readFile(options.configLocal, 'utf8'), { source: options.configLocal })
    : (await loadStreamConfiguration(options.config, options.configDirs)).config;
  // Only the gadget modules this config names are loaded (start-up time).
  const registry = lazyDefaultRegistry();
  await registry.loadFor(config);
  const plan = planPipeline(config, registry);
  // Read-only, so the reader may map the file's samples instead of copying them, unless the images go into the same file.
  const input = IsmrmrdFile.open(options.filename, options.inGroup, options.onImage || !sameFile(options.filename, options.outFile) ? { readOnly: true } : {});
  let output: IsmrmrdFile | undefined;
  let images = 0;
  try {
    const xml = input.readHeader();
    if (xml === undefined) throw new Error(`Cannot reconstruct ${options.filename}: no ISMRMRD header`);
    const header = parseIsmrmrdHeader(xml);
    const inChannel = new Channel<Message>(64);
    const outChannel = new Channel<Message>(64);
    const log = createLogger('warn');
    const run = runChain(plan.chain, inChannel, outChannel, {
      header,
      log,
      signal: new AbortController().signal,
      channelCapacity: 64,
      ...(options.slicesInFlight === undefined ? {} : { slicesInFlight: options.slicesInFlight }),
      storage: options.storage,
      parameters: options.parameters,
      notify: (path, text) => process.stderr.write(`gantry recon: [${path}] WARNING: ${text}\n`),
    })
      .finally(() => outChannel.close());
    const total = input.acquisitionCount();
    let read = 0;
    const progress = (): void => options.onProgress?.({ acquisitions: read, total, images });
    const feed = (async () => {
      for await (const block of input.acquisitionBlocks()) {
        // `offer` takes a readout without a promise while the channel has room; `push` waits when it is full.
        for (const acq of block) if (!inChannel.offer(acq)) await inChannel.push(acq);
        read += block.length;
        progress();
      }
      const waves = input.waveformCount();
      if (waves > 0) for (const w of input.readWaveforms(0, waves)) await inChannel.push(w);
      inChannel.close();
    })();
    const drain = (async () => {
      for await (const message of outChannel) {
        if (options.onImage) {
          const image = message.kind === 'image' ? message : message.kind === 'dicom' ? message.image : undefined;
          if (image && plan.writtenKinds.has(message.kind)) {
            await options.onImage(image, images++, header);
            progress();
          }
          continue;
        }
        if (message.kind !== 'image' || !plan.writtenKinds.has('image')) continue;
        if (!output) output = IsmrmrdFile.open(options.outFile, options.outGroup, { create: true });
        // Written on a worker thread (2–10 ms an image), in order; this thread goes on with the reconstruction.
        await output.appendImageAsync(message);
        images += 1;
        progress();
      }
    })();
    await Promise.all([run, feed, drain]);
  } finally {
    input.close();
    // Nothing is in flight once drain has ended; after a failure elsewhere, let a write under way land before closing.
    await output?.writesDone().catch(() => undefined);
    output?.close();
  }
  return { images };
}

/**
 * Input files from this size on start the compute threads at once: the
 * gadgets do a scan's first 32 MiB of samples on this thread (a small scan is
 * done before a worker thread would have started) and hand the rest to the
 * workers, which by then should be ready.
 */
const EARLY_THREADS_BYTES = 64 << 20;

/** Size of the file at `path` (0 when it cannot be read; opening it reports why). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Starts the compute threads now (a task that does nothing): a worker thread
 * takes about 0.1 s of CPU to start (Node's bootstrap, the task module), which
 * then runs on another core while this thread loads the config and the
 * gadgets and reads the first blocks, instead of delaying the first pieces of
 * work sent to it.
 */
function startComputeThreads(): void {
  void import('../gadgets/generic-recon-tasks.js').then(({ reconPool }) => {
    const pool = reconPool();
    if (pool.workers === 0) return undefined;
    const nothing: PlaceReadoutsArgs = { out: new Float32Array(0), sources: [], items: new Float64Array(0), channels: 0, channelStride: 0 };
    return pool.run('placeReadouts', nothing);
  }).catch(() => undefined);
}

/** True when `a` and `b` name the same existing file. */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}
