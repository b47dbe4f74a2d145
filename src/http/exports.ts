/**
 * Downloads of a session's images: an ISMRMRD HDF5 file (written by the
 * native addon, as `gantry client` writes its output) and a zip of a DICOM
 * series (one folder per ISMRMRD image series).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { imageToDicom } from '../formats/dicom.js';
import { IsmrmrdFile } from '../formats/ismrmrd-hdf5.js';
import type { Image } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';

/** The bytes of an ISMRMRD HDF5 file holding `images` under `group` (series `image_<series>`). */
export function imagesToHdf5(images: readonly Image[], group: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-export-'));
  try {
    const path = join(dir, 'images.h5');
    const file = IsmrmrdFile.open(path, group, { create: true });
    try {
      for (const image of images) file.appendImage(image);
    } finally {
      file.close();
    }
    return new Uint8Array(readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Export settings of {@link imagesToDicomZip}. */
export interface DicomZipOptions {
  header?: IsmrmrdHeader;
  uidSeed: string;
  deidentify?: boolean;
}

/** A zip of DICOM files (`series_<n>/…dcm`), one instance per image plane. */
export function imagesToDicomZip(images: readonly { image: Image; index: number }[], options: DicomZipOptions): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const { image, index } of images) {
    const instances = imageToDicom(image, {
      uidSeed: options.uidSeed,
      outputIndex: index,
      ...(options.header ? { header: options.header } : {}),
      deidentify: options.deidentify === true,
    });
    for (const instance of instances) {
      const folder = `series_${String(image.head.image_series_index).padStart(4, '0')}`;
      let name = `${folder}/${instance.filename}`;
      for (let k = 2; files[name] !== undefined; k++) name = `${folder}/${instance.filename.replace(/\.dcm$/, `_${k}.dcm`)}`;
      files[name] = instance.bytes;
    }
  }
  return zipSync(files, { level: 0 });
}
