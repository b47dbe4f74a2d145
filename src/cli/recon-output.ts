/**
 * Offline reconstruction into an output of a chosen format: an ISMRMRD HDF5
 * file (as the client writes), or a folder of DICOM files (MR Image Storage,
 * one per image plane) or of 8-bit PNG files (one per plane, default window).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OfflineReconOptions } from './recon.js';

// The reconstruction and the DICOM and PNG writers (dcmjs, fast-png) load on
// first use, so that `gantry` starts without them.

/** Output formats of `gantry recon` and `gantry chris`. */
export const RECON_FORMATS = ['h5', 'dicom', 'png'] as const;
export type ReconFormat = (typeof RECON_FORMATS)[number];

/** What to reconstruct and where to put it. */
export interface ReconToFormatOptions extends Omit<OfflineReconOptions, 'outFile' | 'onImage'> {
  format: ReconFormat;
  /** The HDF5 file (h5) or the folder (dicom, png). */
  output: string;
  /** Seed of the DICOM UIDs (default: derived from the input path, group and config, so a rerun gives the same UIDs). */
  uidSeed?: string;
  deidentify?: boolean;
}

/** Result of {@link reconToFormat}. */
export interface ReconToFormatResult {
  images: number;
  /** Files written (absolute paths); for h5 the one output file. */
  files: string[];
}

/** The default UID seed of a batch reconstruction. */
export function batchUidSeed(input: string, group: string, config: string): string {
  return createHash('sha256').update(`${resolve(input)}\u0000${group}\u0000${config}`).digest('hex');
}

/** Reconstructs `options.filename` into `options.output` in `options.format`. */
export async function reconToFormat(options: ReconToFormatOptions): Promise<ReconToFormatResult> {
  const { format, output } = options;
  const { runOfflineRecon } = await import('./recon.js');
  if (format === 'h5') {
    const { images } = await runOfflineRecon({ ...options, outFile: output });
    return { images, files: images > 0 ? [resolve(output)] : [] };
  }
  mkdirSync(output, { recursive: true });
  const files: string[] = [];
  const imageToDicom = format === 'dicom' ? (await import('../formats/dicom.js')).imageToDicom : undefined;
  const imageToPng = format === 'png' ? (await import('../formats/png.js')).imageToPng : undefined;
  const seed = options.uidSeed ?? batchUidSeed(options.filename, options.inGroup, options.configLocal ?? options.config);
  const { images } = await runOfflineRecon({
    ...options,
    outFile: '',
    onImage: (image, index, header) => {
      if (imageToDicom) {
        for (const instance of imageToDicom(image, { header, uidSeed: seed, outputIndex: index, deidentify: options.deidentify === true })) {
          const path = resolve(join(output, instance.filename));
          writeFileSync(path, instance.bytes);
          files.push(path);
        }
        return;
      }
      if (!imageToPng) return;
      const nz = image.head.matrix_size[2] ?? 1;
      for (let channel = 0; channel < image.head.channels; channel++) {
        for (let z = 0; z < nz; z++) {
          const suffix = `${nz > 1 ? `_z${String(z).padStart(3, '0')}` : ''}${image.head.channels > 1 ? `_c${String(channel).padStart(2, '0')}` : ''}`;
          const name = `image_${String(image.head.image_series_index).padStart(4, '0')}_${String(index + 1).padStart(6, '0')}${suffix}.png`;
          const path = resolve(join(output, name));
          writeFileSync(path, imageToPng(image, { z, channel }).png);
          files.push(path);
        }
      }
    },
  });
  return { images, files };
}
