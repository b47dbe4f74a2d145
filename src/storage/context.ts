/**
 * Where a measurement's dependencies live, as Gadgetron derives it: subject,
 * device and session from the ISMRMRD header, or parsed from a Siemens-style
 * measurement id `DEVICE_SUBJECT_SESSION_MEAS`; the measurement space adds a
 * custom tag `measurement=<measurementID>`.
 */
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { StorageError, type StorageTags } from './types.js';

/** The blob name of a stored noise covariance. */
export const NOISE_COVARIANCE_NAME = 'noise_covariance';
/** Gadgetron's default time to live of stored dependencies: 48 h. */
export const DEFAULT_DEPENDENCY_TTL_SECONDS = 172_800;
/** The prefix of the legacy noise file names (`GadgetronNoiseCovarianceMatrix_<measurementID>`). */
export const LEGACY_NOISE_PREFIX = 'GadgetronNoiseCovarianceMatrix';

/** The identifiers a header gives (empty strings are absent). */
export interface StorageContext {
  readonly subject?: string;
  readonly device?: string;
  readonly session?: string;
  readonly measurementId?: string;
}

const STRUCTURED_ID = /^([^_]*)_([^_]*)_([^_]*)_([^_]*)$/;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** Fills missing subject/device/session from a structured measurement id (groups 2, 1, 3). */
function withFallback(ctx: StorageContext): StorageContext {
  const id = ctx.measurementId;
  if (id === undefined || (ctx.subject !== undefined && ctx.device !== undefined && ctx.session !== undefined)) return ctx;
  const m = STRUCTURED_ID.exec(id);
  if (!m) return ctx;
  const device = ctx.device ?? nonEmpty(m[1]);
  const subject = ctx.subject ?? nonEmpty(m[2]);
  const session = ctx.session ?? nonEmpty(m[3]);
  return {
    measurementId: id,
    ...(subject === undefined ? {} : { subject }),
    ...(device === undefined ? {} : { device }),
    ...(session === undefined ? {} : { session }),
  };
}

/** The storage context of a header (undefined header: empty context). */
export function storageContextFromHeader(header: IsmrmrdHeader | undefined): StorageContext {
  if (!header) return {};
  const subject = nonEmpty(header.subjectInformation?.patientID);
  const device = nonEmpty(header.acquisitionSystemInformation?.deviceID);
  const session = nonEmpty(header.studyInformation?.studyID);
  const measurementId = nonEmpty(header.measurementInformation?.measurementID);
  return withFallback({
    ...(subject === undefined ? {} : { subject }),
    ...(device === undefined ? {} : { device }),
    ...(session === undefined ? {} : { session }),
    ...(measurementId === undefined ? {} : { measurementId }),
  });
}

/** The storage context a bare measurement id gives. */
export function storageContextFromMeasurementId(measurementId: string): StorageContext {
  return withFallback(measurementId === '' ? {} : { measurementId });
}

/** The measurementID of the header's first dependency of type "noise" (any case), if any. */
export function noiseDependencyId(header: IsmrmrdHeader | undefined): string | undefined {
  const deps = header?.measurementInformation?.measurementDependency ?? [];
  return deps.find((d) => d.dependencyType.toLowerCase() === 'noise')?.measurementID;
}

/** Tags for storing `name` for this measurement; throws StorageError('INCOMPLETE_CONTEXT') without subject or measurement id. */
export function measurementWriteTags(ctx: StorageContext, name: string): StorageTags {
  if (ctx.subject === undefined) {
    throw new StorageError('INCOMPLETE_CONTEXT', 'the header gives no subject (subjectInformation/patientID, or a DEVICE_SUBJECT_SESSION_MEAS measurementID)');
  }
  if (ctx.measurementId === undefined) throw new StorageError('INCOMPLETE_CONTEXT', 'the header gives no measurementInformation/measurementID');
  return {
    subject: ctx.subject,
    ...(ctx.device === undefined ? {} : { device: ctx.device }),
    ...(ctx.session === undefined ? {} : { session: ctx.session }),
    name,
    custom: { measurement: [ctx.measurementId] },
  };
}

/**
 * Tags for reading `name` of the dependency `dependencyId`: subject, device
 * and session from the current context, or, when it has no subject, parsed
 * from the dependency id. Throws StorageError('INCOMPLETE_CONTEXT') when
 * neither gives a subject.
 */
export function measurementReadTags(ctx: StorageContext, dependencyId: string, name: string): StorageTags {
  const source = ctx.subject !== undefined ? ctx : storageContextFromMeasurementId(dependencyId);
  if (source.subject === undefined) {
    throw new StorageError('INCOMPLETE_CONTEXT', 'neither the header (subjectInformation/patientID) nor the dependency id (DEVICE_SUBJECT_SESSION_MEAS) gives a subject to look it up by');
  }
  return {
    subject: source.subject,
    ...(source.device === undefined ? {} : { device: source.device }),
    ...(source.session === undefined ? {} : { session: source.session }),
    name,
    custom: { measurement: [dependencyId] },
  };
}
