/**
 * The ISMRMRD XML header (`<ismrmrdHeader>`, namespace
 * http://www.ismrm.org/ISMRMRD) as typed objects.
 *
 * Property names are the schema's element names. Parsing enforces what
 * ISMRMRD 1.8's `deserialize` requires plus the schema's enumerations, and
 * reports the element and line of every problem. Elements the model does not
 * know (newer-schema `multiband`, `diffusion`, user limits, vendor additions)
 * are kept in the `extra` list of the object they appeared in and written back
 * at the end of that element. Serialization follows the 1.8 serializer: schema
 * order, one element per line, tab indent, floats as `%f`.
 */
import { parseXml, textContent, XmlSyntaxError } from '../util/xml.js';
import type { XmlElement, XmlNode } from '../util/xml.js';
import { escapePcdata } from './meta.js';
import { formatFixed } from './number-format.js';

/** The ISMRMRD XML namespace. */
export const ISMRMRD_NAMESPACE = 'http://www.ismrm.org/ISMRMRD';

/** `trajectoryType` values. */
export const TRAJECTORY_TYPES = ['cartesian', 'epi', 'radial', 'goldenangle', 'spiral', 'other'] as const;
/** `patientPositionType` values. */
export const PATIENT_POSITIONS = ['HFP', 'HFS', 'HFDR', 'HFDL', 'FFP', 'FFS', 'FFDR', 'FFDL'] as const;
/** `calibrationModeType` values. */
export const CALIBRATION_MODES = ['embedded', 'interleaved', 'separate', 'external', 'other'] as const;
/** `interleavingDimensionType` values. */
export const INTERLEAVING_DIMENSIONS = ['phase', 'repetition', 'contrast', 'average', 'other'] as const;
/** `waveformType` values. */
export const WAVEFORM_TYPES = ['ecg', 'pulse', 'respiratory', 'trigger', 'gradientwaveform', 'other'] as const;

export type TrajectoryType = (typeof TRAJECTORY_TYPES)[number];
export type PatientPosition = (typeof PATIENT_POSITIONS)[number];
export type CalibrationMode = (typeof CALIBRATION_MODES)[number];
export type InterleavingDimension = (typeof INTERLEAVING_DIMENSIONS)[number];
export type WaveformType = (typeof WAVEFORM_TYPES)[number];

/**
 * Elements the model does not know, kept in document order and written back at
 * the end of their parent. Source positions are reset to 0 and whitespace-only
 * text between child elements is dropped, so that a round trip compares equal.
 */
export interface Extensible {
  extra?: XmlElement[];
}

export interface ThreeDimensionalFloat extends Extensible { x: number; y: number; z: number }
export interface MatrixSize extends Extensible { x: number; y: number; z: number }
export interface FieldOfView_mm extends Extensible { x: number; y: number; z: number }

export interface SubjectInformation extends Extensible {
  patientName?: string;
  patientWeight_kg?: number;
  patientID?: string;
  patientBirthdate?: string;
  patientGender?: string;
}

export interface StudyInformation extends Extensible {
  studyDate?: string;
  studyTime?: string;
  studyID?: string;
  accessionNumber?: number;
  referringPhysicianName?: string;
  studyDescription?: string;
  studyInstanceUID?: string;
}

export interface MeasurementDependency extends Extensible {
  dependencyType: string;
  measurementID: string;
}

export interface ReferencedImageSequence extends Extensible {
  referencedSOPInstanceUID: string[];
}

export interface MeasurementInformation extends Extensible {
  measurementID?: string;
  seriesDate?: string;
  seriesTime?: string;
  patientPosition: PatientPosition;
  relativeTablePosition?: ThreeDimensionalFloat;
  initialSeriesNumber?: number;
  protocolName?: string;
  seriesDescription?: string;
  measurementDependency: MeasurementDependency[];
  seriesInstanceUIDRoot?: string;
  frameOfReferenceUID?: string;
  referencedImageSequence?: ReferencedImageSequence;
}

export interface CoilLabel extends Extensible {
  coilNumber: number;
  coilName: string;
}

export interface AcquisitionSystemInformation extends Extensible {
  systemVendor?: string;
  systemModel?: string;
  systemFieldStrength_T?: number;
  relativeReceiverNoiseBandwidth?: number;
  receiverChannels?: number;
  coilLabel: CoilLabel[];
  institutionName?: string;
  stationName?: string;
  deviceID?: string;
}

export interface ExperimentalConditions extends Extensible {
  H1resonanceFrequency_Hz: number;
}

export interface EncodingSpace extends Extensible {
  matrixSize: MatrixSize;
  fieldOfView_mm: FieldOfView_mm;
}

/** A loop range; a missing minimum, maximum or center reads as 0 (the schema default). */
export interface Limit extends Extensible {
  minimum: number;
  maximum: number;
  center: number;
}

/** Names of the ten encoding limits, in schema order. */
export const ENCODING_LIMIT_NAMES = [
  'kspace_encoding_step_0', 'kspace_encoding_step_1', 'kspace_encoding_step_2', 'average', 'slice', 'contrast',
  'phase', 'repetition', 'set', 'segment',
] as const;
export type EncodingLimitName = (typeof ENCODING_LIMIT_NAMES)[number];

export type EncodingLimits = { [K in EncodingLimitName]?: Limit } & Extensible;

export interface UserParameterLong extends Extensible { name: string; value: number }
export interface UserParameterDouble extends Extensible { name: string; value: number }
export interface UserParameterString extends Extensible { name: string; value: string }
/** A base64 parameter; `value` is the base64 text as written. */
export type UserParameterBase64 = UserParameterString;

export interface UserParameters extends Extensible {
  userParameterLong: UserParameterLong[];
  userParameterDouble: UserParameterDouble[];
  userParameterString: UserParameterString[];
  userParameterBase64: UserParameterBase64[];
}

export interface TrajectoryDescription extends Extensible {
  identifier: string;
  userParameterLong: UserParameterLong[];
  userParameterDouble: UserParameterDouble[];
  comment?: string;
}

export interface AccelerationFactor extends Extensible {
  kspace_encoding_step_1: number;
  kspace_encoding_step_2: number;
}

export interface ParallelImaging extends Extensible {
  accelerationFactor: AccelerationFactor;
  calibrationMode?: CalibrationMode;
  interleavingDimension?: InterleavingDimension;
}

export interface Encoding extends Extensible {
  encodedSpace: EncodingSpace;
  reconSpace: EncodingSpace;
  encodingLimits: EncodingLimits;
  trajectory: TrajectoryType;
  trajectoryDescription?: TrajectoryDescription;
  parallelImaging?: ParallelImaging;
  echoTrainLength?: number;
}

export interface SequenceParameters extends Extensible {
  TR: number[];
  TE: number[];
  TI: number[];
  flipAngle_deg: number[];
  sequence_type?: string;
  echo_spacing: number[];
}

export interface WaveformInformation extends Extensible {
  waveformName: string;
  waveformType: WaveformType;
  userParameters?: UserParameters;
}

/** The whole `<ismrmrdHeader>`. */
export interface IsmrmrdHeader extends Extensible {
  version?: number;
  subjectInformation?: SubjectInformation;
  studyInformation?: StudyInformation;
  measurementInformation?: MeasurementInformation;
  acquisitionSystemInformation?: AcquisitionSystemInformation;
  experimentalConditions: ExperimentalConditions;
  encoding: Encoding[];
  sequenceParameters?: SequenceParameters;
  userParameters?: UserParameters;
  waveformInformation: WaveformInformation[];
}

// ---------------------------------------------------------------------------
// Parsing

const PREFIX = 'Cannot parse ISMRMRD header';

function fail(message: string, line: number): never {
  throw new Error(`${PREFIX}: ${message} (line ${line})`);
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;
const INTEGER = /^[+-]?\d+$/;

type IntegerKind = 'unsignedShort' | 'long';
type FloatKind = 'float' | 'double';

/** Copies a fresh, position-free copy of an unknown element (see {@link Extensible}). */
function detach(el: XmlElement): XmlElement {
  const hasElements = el.children.some((c) => c.type === 'element');
  const children: XmlNode[] = [];
  for (const child of el.children) {
    if (child.type === 'element') {
      children.push(detach(child));
      continue;
    }
    const value = hasElements ? child.text.trim() : child.text;
    if (value === '') continue;
    const last = children[children.length - 1];
    if (!hasElements && last?.type === 'text') last.text += value;
    else children.push({ type: 'text', text: value });
  }
  return { type: 'element', name: el.name, attributes: { ...el.attributes }, children, line: 0, column: 0 };
}

/** One element being read: hands out its children once each and keeps the rest as `extra`. */
class Scope {
  private readonly used = new Set<XmlElement>();

  constructor(readonly el: XmlElement, readonly path: string) {}

  /** The first unread child called `name`. */
  take(name: string): XmlElement | undefined {
    for (const child of this.el.children) {
      if (child.type === 'element' && child.name === name && !this.used.has(child)) {
        this.used.add(child);
        return child;
      }
    }
    return undefined;
  }

  /** Every unread child called `name`. */
  takeAll(name: string): XmlElement[] {
    const out: XmlElement[] = [];
    for (const child of this.el.children) {
      if (child.type === 'element' && child.name === name && !this.used.has(child)) {
        this.used.add(child);
        out.push(child);
      }
    }
    return out;
  }

  require(name: string): XmlElement {
    return this.take(name) ?? fail(`${this.path || this.el.name} has no ${name}`, this.el.line);
  }

  /** A scope for child `el`, named `name` (with `index` for repeated elements). */
  scope(el: XmlElement, name: string, index?: number): Scope {
    const own = index === undefined ? name : `${name} ${index}`;
    return new Scope(el, this.path === '' ? own : `${this.path} ${own}`);
  }

  where(name: string): string {
    return this.path === '' ? name : `${this.path} ${name}`;
  }

  /**
   * A value quoted in an error: patient and study fields are not repeated,
   * because error texts also reach logs and the session list (docs/security.md).
   */
  quote(text: string, marks = true): string {
    if (/^(subjectInformation|studyInformation)\b/.test(this.path)) return '(value withheld: patient/study field)';
    return marks ? `'${text}'` : text;
  }

  string(name: string): string | undefined {
    const el = this.take(name);
    return el ? textContent(el) : undefined;
  }

  requireString(name: string): string {
    return textContent(this.require(name));
  }

  strings(name: string): string[] {
    return this.takeAll(name).map((el) => textContent(el));
  }

  integerOf(el: XmlElement, name: string, kind: IntegerKind): number {
    const text = textContent(el).trim();
    if (!INTEGER.test(text)) fail(`${this.where(name)} ${this.quote(textContent(el))} is not an integer`, el.line);
    const value = Number(text);
    const [min, max] = kind === 'unsignedShort' ? [0, 65535] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    if (!(value >= min && value <= max)) {
      fail(`${this.where(name)} ${this.quote(text, false)} is out of range for ${kind} (${min} to ${max})`, el.line);
    }
    return value === 0 ? 0 : value;
  }

  floatOf(el: XmlElement, name: string, kind: FloatKind): number {
    const text = textContent(el).trim();
    if (DECIMAL.test(text)) return Number(text);
    const special = SPECIAL_FLOAT.exec(text);
    if (special) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
    return fail(`${this.where(name)} ${this.quote(textContent(el))} is not a ${kind} number`, el.line);
  }

  integer(name: string, kind: IntegerKind): number | undefined {
    const el = this.take(name);
    return el ? this.integerOf(el, name, kind) : undefined;
  }

  requireInteger(name: string, kind: IntegerKind): number {
    return this.integerOf(this.require(name), name, kind);
  }

  float(name: string, kind: FloatKind): number | undefined {
    const el = this.take(name);
    return el ? this.floatOf(el, name, kind) : undefined;
  }

  requireFloat(name: string, kind: FloatKind): number {
    return this.floatOf(this.require(name), name, kind);
  }

  floats(name: string, kind: FloatKind): number[] {
    return this.takeAll(name).map((el) => this.floatOf(el, name, kind));
  }

  enumOf<T extends string>(el: XmlElement, name: string, allowed: readonly T[]): T {
    const text = textContent(el);
    if (!(allowed as readonly string[]).includes(text)) {
      fail(`${this.where(name)} ${this.quote(text)} is not one of ${allowed.join(', ')}`, el.line);
    }
    return text as T;
  }

  enumValue<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const el = this.take(name);
    return el ? this.enumOf(el, name, allowed) : undefined;
  }

  requireEnum<T extends string>(name: string, allowed: readonly T[]): T {
    return this.enumOf(this.require(name), name, allowed);
  }

  /** Writes `extra` onto `target` when unread children remain; returns `target`. */
  finish<T extends object>(target: T): T {
    const rest: XmlElement[] = [];
    for (const child of this.el.children) {
      if (child.type === 'element' && !this.used.has(child)) rest.push(detach(child));
    }
    if (rest.length > 0) (target as Extensible).extra = rest;
    return target;
  }
}

/** Assigns the defined entries of `values` to `target`, so that absent optionals stay absent keys. */
function defined<T extends object>(target: T, values: Partial<T>): T {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
  return target;
}

function readXyz(s: Scope, kind: 'float' | 'unsignedShort'): { x: number; y: number; z: number } {
  if (kind === 'float') {
    return s.finish({ x: s.requireFloat('x', 'float'), y: s.requireFloat('y', 'float'), z: s.requireFloat('z', 'float') });
  }
  return s.finish({
    x: s.requireInteger('x', 'unsignedShort'), y: s.requireInteger('y', 'unsignedShort'), z: s.requireInteger('z', 'unsignedShort'),
  });
}

function readSubject(s: Scope): SubjectInformation {
  return s.finish(defined<SubjectInformation>({}, {
    patientName: s.string('patientName'),
    patientWeight_kg: s.float('patientWeight_kg', 'float'),
    patientID: s.string('patientID'),
    patientBirthdate: s.string('patientBirthdate'),
    patientGender: s.string('patientGender'),
  }));
}

function readStudy(s: Scope): StudyInformation {
  return s.finish(defined<StudyInformation>({}, {
    studyDate: s.string('studyDate'),
    studyTime: s.string('studyTime'),
    studyID: s.string('studyID'),
    accessionNumber: s.integer('accessionNumber', 'long'),
    referringPhysicianName: s.string('referringPhysicianName'),
    studyDescription: s.string('studyDescription'),
    studyInstanceUID: s.string('studyInstanceUID'),
  }));
}

function readMeasurement(s: Scope): MeasurementInformation {
  const measurementID = s.string('measurementID');
  const seriesDate = s.string('seriesDate');
  const seriesTime = s.string('seriesTime');
  const patientPosition = s.requireEnum('patientPosition', PATIENT_POSITIONS);
  const tableEl = s.take('relativeTablePosition');
  const relativeTablePosition = tableEl ? readXyz(s.scope(tableEl, 'relativeTablePosition'), 'float') : undefined;
  const initialSeriesNumber = s.integer('initialSeriesNumber', 'long');
  const protocolName = s.string('protocolName');
  const seriesDescription = s.string('seriesDescription');
  const measurementDependency = s.takeAll('measurementDependency').map((el, i) => {
    const d = s.scope(el, 'measurementDependency', i);
    return d.finish<MeasurementDependency>({
      dependencyType: d.requireString('dependencyType'),
      measurementID: d.requireString('measurementID'),
    });
  });
  const seriesInstanceUIDRoot = s.string('seriesInstanceUIDRoot');
  const frameOfReferenceUID = s.string('frameOfReferenceUID');
  const refEl = s.take('referencedImageSequence');
  let referencedImageSequence: ReferencedImageSequence | undefined;
  if (refEl) {
    const r = s.scope(refEl, 'referencedImageSequence');
    referencedImageSequence = r.finish({ referencedSOPInstanceUID: r.strings('referencedSOPInstanceUID') });
  }
  return s.finish(defined<MeasurementInformation>({ patientPosition, measurementDependency }, {
    measurementID, seriesDate, seriesTime, relativeTablePosition, initialSeriesNumber, protocolName,
    seriesDescription, seriesInstanceUIDRoot, frameOfReferenceUID, referencedImageSequence,
  }));
}

function readSystem(s: Scope): AcquisitionSystemInformation {
  const systemVendor = s.string('systemVendor');
  const systemModel = s.string('systemModel');
  const systemFieldStrength_T = s.float('systemFieldStrength_T', 'float');
  const relativeReceiverNoiseBandwidth = s.float('relativeReceiverNoiseBandwidth', 'float');
  const receiverChannels = s.integer('receiverChannels', 'unsignedShort');
  const coilLabel = s.takeAll('coilLabel').map((el, i) => {
    const c = s.scope(el, 'coilLabel', i);
    return c.finish<CoilLabel>({
      coilNumber: c.requireInteger('coilNumber', 'unsignedShort'),
      coilName: c.requireString('coilName'),
    });
  });
  return s.finish(defined<AcquisitionSystemInformation>({ coilLabel }, {
    systemVendor, systemModel, systemFieldStrength_T, relativeReceiverNoiseBandwidth, receiverChannels,
    institutionName: s.string('institutionName'),
    stationName: s.string('stationName'),
    deviceID: s.string('deviceID'),
  }));
}

function readSpace(s: Scope): EncodingSpace {
  const matrixSize = readXyz(s.scope(s.require('matrixSize'), 'matrixSize'), 'unsignedShort');
  const fieldOfView_mm = readXyz(s.scope(s.require('fieldOfView_mm'), 'fieldOfView_mm'), 'float');
  return s.finish({ matrixSize, fieldOfView_mm });
}

function readLimits(s: Scope): EncodingLimits {
  const limits: EncodingLimits = {};
  for (const name of ENCODING_LIMIT_NAMES) {
    const el = s.take(name);
    if (!el) continue;
    const l = s.scope(el, name);
    limits[name] = l.finish<Limit>({
      minimum: l.integer('minimum', 'unsignedShort') ?? 0,
      maximum: l.integer('maximum', 'unsignedShort') ?? 0,
      center: l.integer('center', 'unsignedShort') ?? 0,
    });
  }
  return s.finish(limits);
}

function readUserLongs(s: Scope): UserParameterLong[] {
  return s.takeAll('userParameterLong').map((el, i) => {
    const p = s.scope(el, 'userParameterLong', i);
    return p.finish<UserParameterLong>({ name: p.requireString('name'), value: p.requireInteger('value', 'long') });
  });
}

function readUserDoubles(s: Scope): UserParameterDouble[] {
  return s.takeAll('userParameterDouble').map((el, i) => {
    const p = s.scope(el, 'userParameterDouble', i);
    return p.finish<UserParameterDouble>({ name: p.requireString('name'), value: p.requireFloat('value', 'double') });
  });
}

function readUserStrings(s: Scope, name: 'userParameterString' | 'userParameterBase64'): UserParameterString[] {
  return s.takeAll(name).map((el, i) => {
    const p = s.scope(el, name, i);
    return p.finish<UserParameterString>({ name: p.requireString('name'), value: p.requireString('value') });
  });
}

function readUserParameters(s: Scope): UserParameters {
  return s.finish<UserParameters>({
    userParameterLong: readUserLongs(s),
    userParameterDouble: readUserDoubles(s),
    userParameterString: readUserStrings(s, 'userParameterString'),
    userParameterBase64: readUserStrings(s, 'userParameterBase64'),
  });
}

function readTrajectoryDescription(s: Scope): TrajectoryDescription {
  return s.finish(defined<TrajectoryDescription>({
    identifier: s.requireString('identifier'),
    userParameterLong: readUserLongs(s),
    userParameterDouble: readUserDoubles(s),
  }, { comment: s.string('comment') }));
}

function readParallelImaging(s: Scope): ParallelImaging {
  const a = s.scope(s.require('accelerationFactor'), 'accelerationFactor');
  const accelerationFactor = a.finish<AccelerationFactor>({
    kspace_encoding_step_1: a.requireInteger('kspace_encoding_step_1', 'unsignedShort'),
    kspace_encoding_step_2: a.requireInteger('kspace_encoding_step_2', 'unsignedShort'),
  });
  return s.finish(defined<ParallelImaging>({ accelerationFactor }, {
    calibrationMode: s.enumValue('calibrationMode', CALIBRATION_MODES),
    interleavingDimension: s.enumValue('interleavingDimension', INTERLEAVING_DIMENSIONS),
  }));
}

function readEncoding(s: Scope): Encoding {
  const encodedSpace = readSpace(s.scope(s.require('encodedSpace'), 'encodedSpace'));
  const reconSpace = readSpace(s.scope(s.require('reconSpace'), 'reconSpace'));
  const encodingLimits = readLimits(s.scope(s.require('encodingLimits'), 'encodingLimits'));
  const trajectory = s.requireEnum('trajectory', TRAJECTORY_TYPES);
  const descEl = s.take('trajectoryDescription');
  const piEl = s.take('parallelImaging');
  return s.finish(defined<Encoding>({ encodedSpace, reconSpace, encodingLimits, trajectory }, {
    trajectoryDescription: descEl ? readTrajectoryDescription(s.scope(descEl, 'trajectoryDescription')) : undefined,
    parallelImaging: piEl ? readParallelImaging(s.scope(piEl, 'parallelImaging')) : undefined,
    echoTrainLength: s.integer('echoTrainLength', 'long'),
  }));
}

function readSequence(s: Scope): SequenceParameters {
  return s.finish(defined<SequenceParameters>({
    TR: s.floats('TR', 'float'),
    TE: s.floats('TE', 'float'),
    TI: s.floats('TI', 'float'),
    flipAngle_deg: s.floats('flipAngle_deg', 'float'),
    echo_spacing: s.floats('echo_spacing', 'float'),
  }, { sequence_type: s.string('sequence_type') }));
}

function readWaveform(s: Scope): WaveformInformation {
  const waveformName = s.requireString('waveformName');
  const waveformType = s.requireEnum('waveformType', WAVEFORM_TYPES);
  const upEl = s.take('userParameters');
  return s.finish(defined<WaveformInformation>({ waveformName, waveformType }, {
    userParameters: upEl ? readUserParameters(s.scope(upEl, 'userParameters')) : undefined,
  }));
}

/**
 * Parses an ISMRMRD XML header. A trailing NUL (as sent on the wire) is
 * ignored. Throws an `Error` naming the element and line for malformed XML, a
 * missing required element, a bad number or an invalid enumeration value.
 */
export function parseIsmrmrdHeader(xml: string): IsmrmrdHeader {
  let root: XmlElement;
  try {
    root = parseXml(xml.replace(/\0+$/, ''));
  } catch (err) {
    if (err instanceof XmlSyntaxError) {
      const where = err.line !== undefined && !/\(line \d+/.test(err.message) ? ` (line ${err.line}, column ${err.column})` : '';
      throw new Error(`${PREFIX}: ${err.message}${where}`, { cause: err });
    }
    throw err;
  }
  if (root.name !== 'ismrmrdHeader') fail(`the root element is ${root.name}, not ismrmrdHeader`, root.line);
  const s = new Scope(root, '');
  const version = s.integer('version', 'long');
  const subjectEl = s.take('subjectInformation');
  const studyEl = s.take('studyInformation');
  const measurementEl = s.take('measurementInformation');
  const systemEl = s.take('acquisitionSystemInformation');
  const c = s.scope(s.require('experimentalConditions'), 'experimentalConditions');
  const experimentalConditions = c.finish<ExperimentalConditions>({
    H1resonanceFrequency_Hz: c.requireInteger('H1resonanceFrequency_Hz', 'long'),
  });
  const encodingEls = s.takeAll('encoding');
  if (encodingEls.length === 0) fail('ismrmrdHeader has no encoding', root.line);
  const encoding = encodingEls.map((el, i) => readEncoding(s.scope(el, 'encoding', i)));
  const sequenceEl = s.take('sequenceParameters');
  const userEl = s.take('userParameters');
  const waveformInformation = s.takeAll('waveformInformation')
    .map((el, i) => readWaveform(s.scope(el, 'waveformInformation', i)));
  return s.finish(defined<IsmrmrdHeader>({ experimentalConditions, encoding, waveformInformation }, {
    version,
    subjectInformation: subjectEl ? readSubject(s.scope(subjectEl, 'subjectInformation')) : undefined,
    studyInformation: studyEl ? readStudy(s.scope(studyEl, 'studyInformation')) : undefined,
    measurementInformation: measurementEl ? readMeasurement(s.scope(measurementEl, 'measurementInformation')) : undefined,
    acquisitionSystemInformation: systemEl ? readSystem(s.scope(systemEl, 'acquisitionSystemInformation')) : undefined,
    sequenceParameters: sequenceEl ? readSequence(s.scope(sequenceEl, 'sequenceParameters')) : undefined,
    userParameters: userEl ? readUserParameters(s.scope(userEl, 'userParameters')) : undefined,
  }));
}

/** The measurement dependencies (e.g. `Noise` → the noise scan's measurementID), empty when none. */
export function measurementDependencies(h: IsmrmrdHeader): { dependencyType: string; measurementID: string }[] {
  return (h.measurementInformation?.measurementDependency ?? [])
    .map(({ dependencyType, measurementID }) => ({ dependencyType, measurementID }));
}

// ---------------------------------------------------------------------------
// Serialization

const ROOT_OPEN = '<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
  + 'xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:schemaLocation="http://www.ismrm.org/ISMRMRD ismrmrd.xsd">';

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      default: return `&#${c.charCodeAt(0)};`;
    }
  });
}

/**
 * A number as `%f` (6 decimals) like the 1.8 serializer, `float` fields rounded
 * to single precision first. When 6 decimals would change the value, the
 * shortest exact form is written instead, so that nothing is lost.
 */
function formatReal(value: number, kind: FloatKind): string {
  const fixed = formatFixed(kind === 'float' ? Math.fround(value) : value, 6);
  if (!Number.isFinite(value) || Number(fixed) === value) return fixed;
  return String(value);
}

class Writer {
  private readonly parts: string[] = [];
  private depth = 1;

  private pad(): string {
    return '\t'.repeat(this.depth);
  }

  /** Writes `<name>`, the body and `</name>`, or `<name />` when the body wrote nothing. */
  element(name: string, body: () => void, extra?: XmlElement[]): void {
    const start = this.parts.length;
    this.parts.push(`${this.pad()}<${name}>\n`);
    this.depth += 1;
    body();
    for (const el of extra ?? []) this.xml(el);
    this.depth -= 1;
    if (this.parts.length === start + 1) this.parts[start] = `${this.pad()}<${name} />\n`;
    else this.parts.push(`${this.pad()}</${name}>\n`);
  }

  string(name: string, value: string | undefined): void {
    if (value !== undefined) this.parts.push(`${this.pad()}<${name}>${escapePcdata(value)}</${name}>\n`);
  }

  integer(name: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot serialize ISMRMRD header: ${name} is ${value}, not an integer`);
    }
    this.string(name, String(value));
  }

  real(name: string, value: number | undefined, kind: FloatKind): void {
    if (value !== undefined) this.string(name, formatReal(value, kind));
  }

  /** An element kept from parsing, with its attributes and content. */
  xml(el: XmlElement): void {
    let open = `<${el.name}`;
    for (const [key, value] of Object.entries(el.attributes)) open += ` ${key}="${escapeAttribute(value)}"`;
    if (el.children.length === 0) {
      this.parts.push(`${this.pad()}${open} />\n`);
      return;
    }
    if (el.children.every((c) => c.type === 'text')) {
      this.parts.push(`${this.pad()}${open}>${escapePcdata(textContent(el))}</${el.name}>\n`);
      return;
    }
    this.parts.push(`${this.pad()}${open}>\n`);
    this.depth += 1;
    for (const child of el.children) {
      if (child.type === 'element') this.xml(child);
      else if (child.text.trim() !== '') this.parts.push(`${this.pad()}${escapePcdata(child.text.trim())}\n`);
    }
    this.depth -= 1;
    this.parts.push(`${this.pad()}</${el.name}>\n`);
  }

  text(): string {
    return this.parts.join('');
  }
}

function writeXyz(w: Writer, name: string, v: { x: number; y: number; z: number } & Extensible, kind: 'float' | 'int'): void {
  w.element(name, () => {
    for (const axis of ['x', 'y', 'z'] as const) {
      if (kind === 'int') w.integer(axis, v[axis]);
      else w.real(axis, v[axis], 'float');
    }
  }, v.extra);
}

function writeUserLongs(w: Writer, list: UserParameterLong[] | undefined): void {
  for (const p of list ?? []) {
    w.element('userParameterLong', () => { w.string('name', p.name); w.integer('value', p.value); }, p.extra);
  }
}

function writeUserDoubles(w: Writer, list: UserParameterDouble[] | undefined): void {
  for (const p of list ?? []) {
    w.element('userParameterDouble', () => { w.string('name', p.name); w.real('value', p.value, 'double'); }, p.extra);
  }
}

function writeUserParameters(w: Writer, u: UserParameters): void {
  w.element('userParameters', () => {
    writeUserLongs(w, u.userParameterLong);
    writeUserDoubles(w, u.userParameterDouble);
    for (const name of ['userParameterString', 'userParameterBase64'] as const) {
      for (const p of u[name] ?? []) {
        w.element(name, () => { w.string('name', p.name); w.string('value', p.value); }, p.extra);
      }
    }
  }, u.extra);
}

function writeSpace(w: Writer, name: string, space: EncodingSpace): void {
  w.element(name, () => {
    writeXyz(w, 'matrixSize', space.matrixSize, 'int');
    writeXyz(w, 'fieldOfView_mm', space.fieldOfView_mm, 'float');
  }, space.extra);
}

function writeEncoding(w: Writer, e: Encoding): void {
  w.element('encoding', () => {
    writeSpace(w, 'encodedSpace', e.encodedSpace);
    writeSpace(w, 'reconSpace', e.reconSpace);
    w.element('encodingLimits', () => {
      for (const name of ENCODING_LIMIT_NAMES) {
        const l = e.encodingLimits[name];
        if (!l) continue;
        w.element(name, () => {
          w.integer('minimum', l.minimum);
          w.integer('maximum', l.maximum);
          w.integer('center', l.center);
        }, l.extra);
      }
    }, e.encodingLimits.extra);
    w.string('trajectory', e.trajectory);
    const d = e.trajectoryDescription;
    if (d) {
      w.element('trajectoryDescription', () => {
        w.string('identifier', d.identifier);
        writeUserLongs(w, d.userParameterLong);
        writeUserDoubles(w, d.userParameterDouble);
        w.string('comment', d.comment);
      }, d.extra);
    }
    const pi = e.parallelImaging;
    if (pi) {
      w.element('parallelImaging', () => {
        const a = pi.accelerationFactor;
        w.element('accelerationFactor', () => {
          w.integer('kspace_encoding_step_1', a.kspace_encoding_step_1);
          w.integer('kspace_encoding_step_2', a.kspace_encoding_step_2);
        }, a.extra);
        w.string('calibrationMode', pi.calibrationMode);
        w.string('interleavingDimension', pi.interleavingDimension);
      }, pi.extra);
    }
    w.integer('echoTrainLength', e.echoTrainLength);
  }, e.extra);
}

function writeBody(w: Writer, h: IsmrmrdHeader): void {
  w.integer('version', h.version);
  const subject = h.subjectInformation;
  if (subject) {
    w.element('subjectInformation', () => {
      w.string('patientName', subject.patientName);
      w.real('patientWeight_kg', subject.patientWeight_kg, 'float');
      w.string('patientID', subject.patientID);
      w.string('patientBirthdate', subject.patientBirthdate);
      w.string('patientGender', subject.patientGender);
    }, subject.extra);
  }
  const study = h.studyInformation;
  if (study) {
    w.element('studyInformation', () => {
      w.string('studyDate', study.studyDate);
      w.string('studyTime', study.studyTime);
      w.string('studyID', study.studyID);
      w.integer('accessionNumber', study.accessionNumber);
      w.string('referringPhysicianName', study.referringPhysicianName);
      w.string('studyDescription', study.studyDescription);
      w.string('studyInstanceUID', study.studyInstanceUID);
    }, study.extra);
  }
  const m = h.measurementInformation;
  if (m) {
    w.element('measurementInformation', () => {
      w.string('measurementID', m.measurementID);
      w.string('seriesDate', m.seriesDate);
      w.string('seriesTime', m.seriesTime);
      w.string('patientPosition', m.patientPosition);
      if (m.relativeTablePosition) writeXyz(w, 'relativeTablePosition', m.relativeTablePosition, 'float');
      w.integer('initialSeriesNumber', m.initialSeriesNumber);
      w.string('protocolName', m.protocolName);
      w.string('seriesDescription', m.seriesDescription);
      for (const d of m.measurementDependency ?? []) {
        w.element('measurementDependency', () => {
          w.string('dependencyType', d.dependencyType);
          w.string('measurementID', d.measurementID);
        }, d.extra);
      }
      w.string('seriesInstanceUIDRoot', m.seriesInstanceUIDRoot);
      w.string('frameOfReferenceUID', m.frameOfReferenceUID);
      const r = m.referencedImageSequence;
      if (r) {
        w.element('referencedImageSequence', () => {
          for (const uid of r.referencedSOPInstanceUID) w.string('referencedSOPInstanceUID', uid);
        }, r.extra);
      }
    }, m.extra);
  }
  const sys = h.acquisitionSystemInformation;
  if (sys) {
    w.element('acquisitionSystemInformation', () => {
      w.string('systemVendor', sys.systemVendor);
      w.string('systemModel', sys.systemModel);
      w.real('systemFieldStrength_T', sys.systemFieldStrength_T, 'float');
      w.real('relativeReceiverNoiseBandwidth', sys.relativeReceiverNoiseBandwidth, 'float');
      w.integer('receiverChannels', sys.receiverChannels);
      for (const coil of sys.coilLabel ?? []) {
        w.element('coilLabel', () => {
          w.integer('coilNumber', coil.coilNumber);
          w.string('coilName', coil.coilName);
        }, coil.extra);
      }
      w.string('institutionName', sys.institutionName);
      w.string('stationName', sys.stationName);
      w.string('deviceID', sys.deviceID);
    }, sys.extra);
  }
  const ec = h.experimentalConditions;
  w.element('experimentalConditions', () => w.integer('H1resonanceFrequency_Hz', ec.H1resonanceFrequency_Hz), ec.extra);
  for (const e of h.encoding) writeEncoding(w, e);
  const seq = h.sequenceParameters;
  if (seq) {
    w.element('sequenceParameters', () => {
      for (const name of ['TR', 'TE', 'TI', 'flipAngle_deg'] as const) {
        for (const v of seq[name] ?? []) w.real(name, v, 'float');
      }
      w.string('sequence_type', seq.sequence_type);
      for (const v of seq.echo_spacing ?? []) w.real('echo_spacing', v, 'float');
    }, seq.extra);
  }
  if (h.userParameters) writeUserParameters(w, h.userParameters);
  for (const wf of h.waveformInformation ?? []) {
    w.element('waveformInformation', () => {
      w.string('waveformName', wf.waveformName);
      w.string('waveformType', wf.waveformType);
      if (wf.userParameters) writeUserParameters(w, wf.userParameters);
    }, wf.extra);
  }
  for (const el of h.extra ?? []) w.xml(el);
}

/**
 * Serializes a header as ISMRMRD 1.8 does (declaration, the four root
 * attributes, schema order, tab indent, floats `%f`); the header written by
 * `ismrmrd_generate_cartesian_shepp_logan` comes back byte for byte. A number
 * that 6 decimals cannot hold is written in its shortest exact form instead, so
 * `parseIsmrmrdHeader(serializeIsmrmrdHeader(h))` always equals `h`. Kept
 * `extra` elements are written at the end of their parent. Throws `RangeError`
 * for a non-integer in an integer field or a header without encoding.
 */
export function serializeIsmrmrdHeader(h: IsmrmrdHeader): string {
  if (!h.encoding || h.encoding.length === 0) {
    throw new RangeError('Cannot serialize ISMRMRD header: it has no encoding');
  }
  const w = new Writer();
  writeBody(w, h);
  return `<?xml version="1.0"?>\n${ROOT_OPEN}\n${w.text()}</ismrmrdHeader>\n`;
}
