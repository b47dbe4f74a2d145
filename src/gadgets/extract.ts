/**
 * ExtractGadget: turns each complex image into float images of the requested
 * parts (magnitude, real, imaginary, phase); image_series_index is offset by
 * 0, 1000, 2000 and 3000 respectively, and phase is arg(z) + π.
 */
import type { Image } from '../ismrmrd/types.js';
import type { Message } from '../ismrmrd/messages.js';
import { DataType } from '../ismrmrd/types.js';
import { defineGadget } from '../engine/gadget.js';
import { complexToReal, imageTypeOf, isComplexFloatImage, type ComplexPart } from './image-pixels.js';

const seriesOffset: Record<ComplexPart, number> = { magnitude: 0, real: 1000, imag: 2000, phase: 3000 };

/** Parts selected by the deprecated `extract_mask` bitset (1 magnitude, 2 real, 4 imag, 8 phase). */
function partsFromMask(mask: string): ComplexPart[] | undefined {
  const trimmed = mask.trim();
  if (trimmed === '') return undefined;
  const bits = /^[01]+$/.test(trimmed) ? parseInt(trimmed, 2) : Number(trimmed);
  if (!Number.isInteger(bits) || bits <= 0) return undefined;
  const parts: ComplexPart[] = [];
  if (bits & 1) parts.push('magnitude');
  if (bits & 2) parts.push('real');
  if (bits & 4) parts.push('imag');
  if (bits & 8) parts.push('phase');
  return parts;
}

export const extractGadget = defineGadget({
  name: 'ExtractGadget',
  classNames: ['ExtractGadget'],
  properties: {
    extract_magnitude: { type: 'boolean', default: true },
    extract_real: { type: 'boolean', default: false },
    extract_imag: { type: 'boolean', default: false },
    extract_phase: { type: 'boolean', default: false },
    real_imag_offset: { type: 'number', default: 0 },
    extract_mask: { type: 'string', default: '' },
  },
  strict: false,
  description: 'Extracts magnitude/real/imaginary/phase float images from complex images',
  accepts: (m: Message): m is Image => m.kind === 'image' && isComplexFloatImage(m),
  async run(input, output, props) {
    const parts: ComplexPart[] = partsFromMask(props.extract_mask) ?? [
      ...(props.extract_magnitude ? (['magnitude'] as const) : []),
      ...(props.extract_real ? (['real'] as const) : []),
      ...(props.extract_imag ? (['imag'] as const) : []),
      ...(props.extract_phase ? (['phase'] as const) : []),
    ];
    for await (const image of input) {
      for (const part of parts) {
        const data = complexToReal(image.data as Float32Array, part, props.real_imag_offset, true);
        const head = {
          ...image.head,
          data_type: DataType.FLOAT,
          image_type: imageTypeOf(part),
          image_series_index: image.head.image_series_index + seriesOffset[part],
        };
        await output.push({ kind: 'image', head, meta: new Map(image.meta), data });
      }
    }
  },
});
