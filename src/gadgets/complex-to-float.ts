/**
 * ComplexToFloatGadget: converts a complex image to float by its image_type
 * (magnitude, phase = arg(z), real, imaginary; unset or complex → magnitude).
 */
import { DataType, ImageType, type Image } from '../ismrmrd/types.js';
import type { Message } from '../ismrmrd/messages.js';
import { defineMapGadget } from '../engine/gadget.js';
import { complexToReal, isComplexFloatImage, type ComplexPart } from './image-pixels.js';

function partOf(imageType: number): ComplexPart {
  switch (imageType) {
    case ImageType.PHASE:
      return 'phase';
    case ImageType.REAL:
      return 'real';
    case ImageType.IMAG:
      return 'imag';
    default:
      return 'magnitude';
  }
}

export const complexToFloatGadget = defineMapGadget({
  name: 'ComplexToFloatGadget',
  classNames: ['ComplexToFloatGadget'],
  properties: {},
  strict: false,
  description: 'Converts complex images to float by image type',
  accepts: (m: Message): m is Image => m.kind === 'image' && isComplexFloatImage(m),
  process(image) {
    const part = partOf(image.head.image_type);
    const data = complexToReal(image.data as Float32Array, part);
    const imageType = image.head.image_type === 0 || image.head.image_type === ImageType.COMPLEX ? ImageType.MAGNITUDE : image.head.image_type;
    return { kind: 'image', head: { ...image.head, data_type: DataType.FLOAT, image_type: imageType }, meta: image.meta, data };
  },
});
