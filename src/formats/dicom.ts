/**
 * DICOM export of ISMRMRD images: MR Image Storage (1.2.840.10008.5.1.4.1.1.4),
 * Explicit VR Little Endian Part-10 files written with dcmjs.
 *
 * - One instance per 2D plane (a 3D image gives one instance per z position,
 *   a multi-channel image one per channel); complex images give their magnitude
 *   (or the part asked for).
 * - Geometry from the image header: ImagePositionPatient is the centre of the
 *   first pixel, `position − ⌊nx/2⌋·Δx·read_dir − ⌊ny/2⌋·Δy·phase_dir` (the
 *   ISMRMRD position is the FOV centre, which the centred FFT puts on pixel
 *   ⌊n/2⌋; likewise plane z of a 3D image lies at (z − ⌊nz/2⌋)·Δz along
 *   slice_dir); ImageOrientationPatient is read_dir then phase_dir;
 *   PixelSpacing is [Δy, Δx] = [fov_y/ny, fov_x/nx]; SliceThickness is fov_z/nz.
 * - Pixels are 16-bit: integer images within 16 bits are stored as they are;
 *   others are stored as uint16 with RescaleSlope/RescaleIntercept so that
 *   stored·slope + intercept reproduces each value within slope/2.
 * - UIDs are derived ("2.25." + 128 bits of SHA-256) from a seed (the session
 *   id, or the input file and config for batch runs), so they are stable for a
 *   session and differ between sessions; the header's study UID is kept unless
 *   de-identifying.
 * - Patient and study fields come from the ISMRMRD header; `deidentify` blanks
 *   or replaces them (keeping study dates), after DICOM PS3.15's basic profile.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type Dcmjs from 'dcmjs';
import type { Image } from '../ismrmrd/types.js';
import { DataType } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { imagePlane, isComplexImage, planeSize, type ImagePart } from './image-plane.js';
import { percentileWindow, windowFromMeta } from './windowing.js';

/** dcmjs, loaded on first use: it takes about 70 ms to load, and most commands never write DICOM. */
let dcmjsModule: typeof Dcmjs | undefined;
function dcmjs(): typeof Dcmjs {
  dcmjsModule ??= createRequire(import.meta.url)('dcmjs') as typeof Dcmjs;
  return dcmjsModule;
}

/** SOP class of MR Image Storage. */
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
/** Explicit VR Little Endian. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.297510391716932851403557164457178838529';
const IMPLEMENTATION_VERSION = 'GANTRY_0';

/** Export settings. */
export interface DicomExportOptions {
  /** The session's ISMRMRD header (patient, study, series and sequence fields). */
  header?: IsmrmrdHeader;
  /** Seed of the derived UIDs: the same seed gives the same UIDs. */
  uidSeed: string;
  /** Blank or replace patient-identifying fields. */
  deidentify?: boolean;
  /** For complex images: the part to export (default magnitude). */
  part?: ImagePart;
  /** Position of the image in the session's output (instance numbers when image_index is 0). */
  outputIndex?: number;
}

/** One exported instance. */
export interface DicomInstance {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  /** A file name such as `series_0000_image_000001.dcm`. */
  filename: string;
  /** Stored value = round((value − intercept) / slope). */
  rescale: { slope: number; intercept: number };
}

/** A UID derived from a seed and parts (`2.25.<decimal of 128 bits of SHA-256>`). */
export function derivedUid(seed: string, ...parts: (string | number)[]): string {
  const digest = createHash('sha256').update([seed, ...parts].join('\u0000')).digest();
  let n = 0n;
  for (let i = 0; i < 16; i++) n = (n << 8n) | BigInt(digest[i] as number);
  return `2.25.${n.toString()}`;
}

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

function validUid(uid: string | undefined): string | undefined {
  return uid !== undefined && uid.length <= 64 && UID_PATTERN.test(uid) ? uid : undefined;
}

/** A number as a DICOM Decimal String (at most 16 characters). */
export function decimalString(x: number): string {
  if (!Number.isFinite(x)) return '0';
  if (Object.is(x, -0)) return '0';
  let s = String(x);
  for (let p = 15; s.length > 16 && p > 0; p--) s = String(Number(x.toPrecision(p)));
  if (s.length > 16) s = x.toExponential(8);
  return s;
}

function dicomDate(date: string | undefined): string {
  const m = date ? /^(\d{4})-(\d{2})-(\d{2})/.exec(date) : null;
  return m ? `${m[1]}${m[2]}${m[3]}` : '';
}

function dicomTime(time: string | undefined): string {
  const m = time ? /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?/.exec(time) : null;
  return m ? `${m[1]}${m[2]}${m[3]}${m[4] ? m[4].slice(0, 7) : ''}` : '';
}

function dicomSex(gender: string | undefined): string {
  return gender === 'M' || gender === 'F' || gender === 'O' ? gender : '';
}

/** LO/SH/CS-safe text: no backslashes or control characters, at most `max` characters. */
function text(value: string | undefined, max = 64): string {
  return (value ?? '').replace(/[\\\u0000-\u001f]/g, ' ').slice(0, max);
}

interface StoredPixels {
  pixels: Uint16Array | Int16Array;
  signed: boolean;
  slope: number;
  intercept: number;
}

/** 16-bit pixels for `values`: as they are when they are integers within 16 bits, else rescaled to uint16. */
export function storedPixels(values: Float32Array): StoredPixels {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  if (!(max >= min)) {
    min = 0;
    max = 0;
  }
  if (integral && min >= 0 && max <= 65535) {
    return { pixels: Uint16Array.from(values, (v) => (Number.isFinite(v) ? v : 0)), signed: false, slope: 1, intercept: 0 };
  }
  if (integral && min >= -32768 && max <= 32767) {
    return { pixels: Int16Array.from(values, (v) => (Number.isFinite(v) ? v : 0)), signed: true, slope: 1, intercept: 0 };
  }
  // DS values hold about 16 characters: use the rounded slope and intercept the file will carry.
  const intercept = Number(decimalString(min));
  let slope = max > min ? Number(decimalString((max - intercept) / 65535)) : 1;
  if (max > min && (max - intercept) / slope > 65535.5) slope = Number(decimalString(slope * (1 + 1e-9)));
  const pixels = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const s = Number.isFinite(v) ? Math.round((v - intercept) / slope) : 0;
    pixels[i] = s < 0 ? 0 : s > 65535 ? 65535 : s;
  }
  return { pixels, signed: false, slope, intercept };
}

const add3 = (a: readonly number[], b: readonly number[], k: number): number[] =>
  [0, 1, 2].map((i) => (a[i] ?? 0) + k * (b[i] ?? 0));

/** The DICOM instances (one per plane) for `image`. */
export function imageToDicom(image: Image, options: DicomExportOptions): DicomInstance[] {
  const h = image.head;
  const header = options.header;
  const deid = options.deidentify === true;
  const [nx, ny] = planeSize(image);
  const nz = h.matrix_size[2] ?? 1;
  const planes = nz * h.channels;
  const subject = header?.subjectInformation;
  const study = header?.studyInformation;
  const measurement = header?.measurementInformation;
  const system = header?.acquisitionSystemInformation;
  const sequence = header?.sequenceParameters;
  const seed = options.uidSeed;

  const studyInstanceUid = (!deid && validUid(study?.studyInstanceUID)) || derivedUid(seed, 'study');
  const seriesInstanceUid = derivedUid(seed, 'series', h.image_series_index);
  const frameOfReferenceUid = (!deid && validUid(measurement?.frameOfReferenceUID)) || derivedUid(seed, 'frame-of-reference');
  const seriesNumber = (measurement?.initialSeriesNumber ?? 1) + h.image_series_index;
  const baseNumber = h.image_index > 0 ? h.image_index : (options.outputIndex ?? 0) + 1;
  const complex = isComplexImage(image);
  const part: ImagePart = options.part ?? 'magnitude';
  const imageTypeValue = complex ? ({ magnitude: 'M', phase: 'P', real: 'R', imag: 'I' } as const)[part] : h.image_type === 2 ? 'P' : 'M';

  const dx = nx > 0 ? (h.field_of_view[0] ?? 0) / nx : 1;
  const dy = ny > 0 ? (h.field_of_view[1] ?? 0) / ny : 1;
  const dz = (h.field_of_view[2] ?? 0) / nz;
  const corner = add3(add3(h.position, h.read_dir, -Math.floor(nx / 2) * dx), h.phase_dir, -Math.floor(ny / 2) * dy);

  const pseudonym = derivedUid(seed, 'patient').slice(5, 21);
  const patient = deid
    ? { PatientName: 'ANONYMIZED', PatientID: pseudonym, PatientBirthDate: '', PatientSex: '' }
    : {
      PatientName: text(subject?.patientName),
      PatientID: text(subject?.patientID),
      PatientBirthDate: dicomDate(subject?.patientBirthdate),
      PatientSex: dicomSex(subject?.patientGender),
      ...(subject?.patientWeight_kg === undefined ? {} : { PatientWeight: decimalString(subject.patientWeight_kg) }),
    };

  const meta = Object.fromEntries(image.meta);
  const instances: DicomInstance[] = [];
  for (let channel = 0; channel < h.channels; channel++) {
    for (let z = 0; z < nz; z++) {
      const plane = channel * nz + z;
      const values = imagePlane(image, { part, z, channel });
      const stored = storedPixels(values);
      const window = (part === 'magnitude' ? windowFromMeta(meta) : undefined) ?? percentileWindow(values);
      const instanceNumber = planes > 1 ? (baseNumber - 1) * planes + plane + 1 : baseNumber;
      const sopInstanceUid = derivedUid(seed, 'instance', h.image_series_index, options.outputIndex ?? h.image_index, plane);
      const position = add3(corner, h.slice_dir, (z - Math.floor(nz / 2)) * dz);
      const sliceLocation = position.reduce((s, p, i) => s + p * (h.slice_dir[i] ?? 0), 0);
      const dataset: Record<string, unknown> = {
        SpecificCharacterSet: 'ISO_IR 192',
        ImageType: ['DERIVED', 'PRIMARY', imageTypeValue],
        SOPClassUID: MR_IMAGE_STORAGE,
        SOPInstanceUID: sopInstanceUid,
        StudyDate: dicomDate(study?.studyDate),
        SeriesDate: dicomDate(measurement?.seriesDate),
        StudyTime: dicomTime(study?.studyTime),
        SeriesTime: dicomTime(measurement?.seriesTime),
        AccessionNumber: deid || study?.accessionNumber === undefined ? '' : String(study.accessionNumber).slice(0, 16),
        Modality: 'MR',
        Manufacturer: text(system?.systemVendor),
        ...(deid ? {} : { InstitutionName: text(system?.institutionName), StationName: text(system?.stationName, 16) }),
        ReferringPhysicianName: deid ? '' : text(study?.referringPhysicianName),
        StudyDescription: text(study?.studyDescription),
        SeriesDescription: text(meta['GADGETRON_SeqDescription']?.[0] ?? measurement?.seriesDescription ?? measurement?.protocolName),
        ManufacturerModelName: text(system?.systemModel),
        ...patient,
        ...(deid ? { PatientIdentityRemoved: 'YES', DeidentificationMethod: 'Gantry: DICOM PS3.15 basic profile, study dates retained' } : {}),
        ScanningSequence: 'RM',
        SequenceVariant: 'NONE',
        ScanOptions: '',
        MRAcquisitionType: (header?.encoding[0]?.encodedSpace.matrixSize.z ?? 1) > 1 ? '3D' : '2D',
        SliceThickness: decimalString(dz),
        RepetitionTime: sequence?.TR[0] === undefined ? '' : decimalString(sequence.TR[0]),
        EchoTime: sequence?.TE[0] === undefined ? '' : decimalString(sequence.TE[0]),
        ...(sequence?.TI[0] === undefined ? {} : { InversionTime: decimalString(sequence.TI[0]) }),
        ...(header?.experimentalConditions ? { ImagingFrequency: decimalString(header.experimentalConditions.H1resonanceFrequency_Hz / 1e6) } : {}),
        ...(system?.systemFieldStrength_T === undefined ? {} : { MagneticFieldStrength: decimalString(system.systemFieldStrength_T) }),
        EchoTrainLength: String(header?.encoding[0]?.echoTrainLength ?? 1),
        ...(measurement?.protocolName === undefined ? {} : { ProtocolName: text(measurement.protocolName) }),
        ...(sequence?.flipAngle_deg[0] === undefined ? {} : { FlipAngle: decimalString(sequence.flipAngle_deg[0]) }),
        Laterality: '',
        PatientPosition: measurement?.patientPosition ?? '',
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        StudyID: deid ? '' : text(study?.studyID, 16),
        SeriesNumber: String(seriesNumber),
        AcquisitionNumber: String(h.repetition + 1),
        InstanceNumber: String(instanceNumber),
        ImagePositionPatient: position.map(decimalString),
        ImageOrientationPatient: [...h.read_dir, ...h.phase_dir].map(decimalString),
        FrameOfReferenceUID: frameOfReferenceUid,
        PositionReferenceIndicator: '',
        SliceLocation: decimalString(sliceLocation),
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        Rows: ny,
        Columns: nx,
        PixelSpacing: [decimalString(dy), decimalString(dx)],
        BitsAllocated: 16,
        BitsStored: 16,
        HighBit: 15,
        PixelRepresentation: stored.signed ? 1 : 0,
        WindowCenter: decimalString(window.center),
        WindowWidth: decimalString(Math.max(window.width, 1e-6)),
        RescaleIntercept: decimalString(stored.intercept),
        RescaleSlope: decimalString(stored.slope),
        RescaleType: 'US',
        PixelData: [stored.pixels.buffer.slice(stored.pixels.byteOffset, stored.pixels.byteOffset + stored.pixels.byteLength)],
        _vrMap: { PixelData: 'OW' },
      };
      const fileMeta = {
        FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
        MediaStorageSOPClassUID: MR_IMAGE_STORAGE,
        MediaStorageSOPInstanceUID: sopInstanceUid,
        TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
        ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
        ImplementationVersionName: IMPLEMENTATION_VERSION,
      };
      const { DicomDict, DicomMetaDictionary } = dcmjs().data;
      const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(fileMeta));
      dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
      const bytes = new Uint8Array(dict.write());
      instances.push({
        bytes,
        sopInstanceUid,
        seriesInstanceUid,
        studyInstanceUid,
        seriesNumber,
        instanceNumber,
        filename: `series_${String(h.image_series_index).padStart(4, '0')}_image_${String(instanceNumber).padStart(6, '0')}.dcm`,
        rescale: { slope: stored.slope, intercept: stored.intercept },
      });
    }
  }
  return instances;
}

/** Reads back a Part-10 file written by {@link imageToDicom}: its fields by keyword and its real-valued pixels. */
export function readDicom(bytes: Uint8Array): { fields: Record<string, unknown>; values: Float64Array } {
  const { DicomMessage, DicomMetaDictionary } = dcmjs().data;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const fields = DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(buffer).dict);
  const pixelData = (fields['PixelData'] as ArrayBuffer[] | undefined)?.[0];
  const raw = pixelData === undefined ? new Uint16Array(0) : fields['PixelRepresentation'] === 1 ? new Int16Array(pixelData) : new Uint16Array(pixelData);
  const slope = Number(fields['RescaleSlope'] ?? 1);
  const intercept = Number(fields['RescaleIntercept'] ?? 0);
  return { fields, values: Float64Array.from(raw, (v) => v * slope + intercept) };
}

/** True for data types {@link imageToDicom} stores without rescaling when values fit. */
export function isIntegerDataType(dataType: number): boolean {
  return dataType === DataType.USHORT || dataType === DataType.SHORT || dataType === DataType.UINT || dataType === DataType.INT;
}
