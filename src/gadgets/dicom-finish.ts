/**
 * DicomFinishGadget: turns each image into DICOM (MR Image Storage, one file
 * per 2D plane) for DicomImageWriter, which sends message 1018 with the file,
 * its name and the image meta, as Gadgetron's `dicom.xml` does. Patient, study
 * and sequence fields come from the session's ISMRMRD header; UIDs are stable
 * within the session (see src/formats/dicom.ts). Complex images are exported
 * as their magnitude, with one warning to the client (Gadgetron refuses them).
 */
import { randomUUID } from 'node:crypto';
import { defineGadget } from '../engine/gadget.js';
import { isImage } from '../ismrmrd/messages.js';
import { imageToDicom } from '../formats/dicom.js';
import { isComplexImage } from '../formats/image-plane.js';

export const dicomFinishGadget = defineGadget({
  name: 'DicomFinishGadget',
  classNames: ['DicomFinishGadget', 'DicomFinishGadgetFLOAT', 'DicomFinishGadgetUSHORT', 'DicomFinishAttribGadget'],
  properties: {
    deidentify: { type: 'boolean', default: false },
  },
  strict: false,
  description: 'Converts images to DICOM files (MR Image Storage) for DicomImageWriter (message 1018)',
  accepts: isImage,
  async run(input, output, props, context) {
    const seed = randomUUID();
    let warned = false;
    let index = 0;
    for await (const image of input) {
      if (isComplexImage(image) && !warned) {
        warned = true;
        context.notify?.('Complex images are exported to DICOM as their magnitude');
      }
      const instances = imageToDicom(image, {
        uidSeed: seed,
        outputIndex: index++,
        ...(context.header ? { header: context.header } : {}),
        deidentify: props.deidentify,
      });
      for (const instance of instances) {
        await output.push({
          kind: 'dicom',
          bytes: instance.bytes,
          filename: instance.filename.replace(/\.dcm$/, ''),
          meta: image.meta,
          image,
        });
      }
    }
  },
});
