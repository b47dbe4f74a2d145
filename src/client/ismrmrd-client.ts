/**
 * The `gantry client` command's engine, a drop-in for
 * `gadgetron_ismrmrd_client`: sends a config (by name or script) or a query,
 * the ISMRMRD header and every acquisition and waveform of a dataset, then
 * CLOSE; prints text and responses; stores returned images where the
 * reference client does (`<out-group>/image_<series>` in the output file).
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { IsmrmrdFile } from '../formats/index.js';
import type { Acquisition, Image, Waveform } from '../ismrmrd/types.js';
import { formatMetaNumber, metaGet, metaGetNumber, parseMeta, serializeMeta } from '../ismrmrd/meta.js';
import { parseIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import {
  encodeAcquisition, encodeClose, encodeConfigFile, encodeConfigScript, encodeHeader, encodeQuery, encodeWaveform,
} from '../protocol/index.js';
import type { ConnectionOptions } from 'node:tls';
import { GadgetronConnection } from './connection.js';
import { explainTlsReadError } from './tls-options.js';

/** Client settings (the reference client's flags). */
export interface ClientOptions {
  host: string;
  port: number;
  /** Input ISMRMRD HDF5 file (not used with query or info). */
  filename?: string;
  inGroup: string;
  outFile: string;
  /** Output group; the reference client uses the local start time. */
  outGroup: string;
  /** Remote config name (message id 1). */
  config: string;
  /** Local config file sent as a script (message id 2). */
  configLocal?: string;
  /** Query key (message id 6), e.g. gadgetron::info. */
  info?: string;
  /** Dependency-query mode: no input file. */
  query: boolean;
  timeoutMs: number;
  /** Connect with TLS (`--tls`, see tls-options.ts); absent = plain TCP. */
  tls?: ConnectionOptions;
  verbose: boolean;
  /** Where text and responses are printed. */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** What the session produced. */
export interface ClientResult {
  images: number;
  acquisitionsSent: number;
  /** Error texts reported by the server. */
  serverErrors: string[];
  /** True when the server sent CLOSE. */
  closedByServer: boolean;
}

/** The reference client's default output group: local time `YYYY-MM-DD HH:MM:SS`. */
export function defaultOutGroup(now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
}

/** Runs one client session; throws on connection failure. */
export async function runClient(options: ClientOptions): Promise<ClientResult> {
  const { readFile } = await import('node:fs/promises');
  const usesInput = options.info === undefined && !options.query;
  let input: IsmrmrdFile | undefined;
  let headerXml: string | undefined;
  if (usesInput) {
    if (!options.filename) throw new Error('Cannot send data: no input file given (-f)');
    input = IsmrmrdFile.open(options.filename, options.inGroup);
    headerXml = input.readHeader();
    if (headerXml === undefined) throw new Error(`Cannot send ${options.filename}: ${options.inGroup}/xml holds no ISMRMRD header`);
  }
  const configScript = options.configLocal ? await readFile(options.configLocal, 'utf8') : undefined;
  // the first block is read (on a worker thread) while the connection is made and the config and header go out
  const acquisitions = input && headerXml !== undefined ? new AcquisitionStream(input) : undefined;
  const closeInput = async (): Promise<void> => {
    await acquisitions?.stop();
    input?.close();
  };
  if (headerXml !== undefined) await reportDependencies(headerXml, options);

  let connection: GadgetronConnection;
  try {
    connection = await GadgetronConnection.open({ host: options.host, port: options.port, timeoutMs: options.timeoutMs, ...(options.tls ? { tls: options.tls } : {}) });
  } catch (err) {
    await closeInput();
    throw err;
  }
  const result: ClientResult = { images: 0, acquisitionsSent: 0, serverErrors: [], closedByServer: false };
  let output: IsmrmrdFile | undefined;
  const storeImage = (image: Image): void => {
    if (!output) output = IsmrmrdFile.open(options.outFile, options.outGroup, { create: true });
    output.appendImage(image);
    result.images += 1;
  };

  const reader = (async () => {
    for await (const frame of connection.frames()) {
      switch (frame.kind) {
        case 'text':
          if (/\] ERROR: /.test(frame.text)) result.serverErrors.push(frame.text);
          options.stdout(frame.text);
          break;
        case 'response':
          options.stdout(`${frame.text}\n`);
          break;
        case 'image':
          storeImage(frame.image);
          break;
        case 'dependency-query':
          await writeFile(options.outFile, frame.xml);
          break;
        case 'dicom': {
          const base = resolvePath(`${options.outGroup}_${String(result.images).padStart(6, '0')}`);
          await mkdir(dirname(base), { recursive: true });
          await writeFile(`${base}.dcm`, frame.dicom);
          if (frame.meta.size > 0) await writeFile(`${base}_attrib.xml`, serializeMeta(frame.meta));
          result.images += 1;
          break;
        }
        case 'close':
          result.closedByServer = true;
          return;
        default:
          throw new Error(`Cannot handle message ${frame.kind} from the server`);
      }
    }
  })();
  reader.catch(() => undefined);

  try {
    if (options.info !== undefined) {
      await connection.send(encodeQuery(options.info));
    } else if (configScript !== undefined) {
      await connection.send(encodeConfigScript(configScript));
    } else {
      await connection.send(encodeConfigFile(options.config));
    }
    if (input && acquisitions && headerXml !== undefined) {
      await connection.send(encodeHeader(headerXml));
      result.acquisitionsSent = await sendData(connection, input, acquisitions, options);
    }
    await connection.send(encodeClose());
  } catch (err) {
    // The server may have closed early with an error; its messages explain why.
    await Promise.race([reader, new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    await closeInput();
    output?.close();
    connection.close();
    if (result.serverErrors.length > 0) return result;
    const readError = await reader.then(() => undefined, (e: unknown) => e);
    throw options.tls && readError !== undefined ? explainTlsReadError(readError, options.host, options.port) : err;
  }
  try {
    await reader.catch((err: unknown) => {
      throw options.tls ? explainTlsReadError(err, options.host, options.port) : err;
    });
  } finally {
    await closeInput();
    output?.close();
    connection.close();
  }
  if (!result.closedByServer) throw new Error('The server closed the connection without a CLOSE message');
  return result;
}

/** Bytes of encoded frames gathered into one write while sending data. */
const SEND_BATCH_BYTES = 4 * 1024 * 1024;

/** Collects encoded frames and sends them in writes of about {@link SEND_BATCH_BYTES}. */
class FrameBatch {
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  constructor(private readonly connection: GadgetronConnection) {}

  async add(frame: readonly Uint8Array[]): Promise<void> {
    for (const chunk of frame) {
      this.chunks.push(chunk);
      this.bytes += chunk.byteLength;
    }
    if (this.bytes >= SEND_BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    await this.connection.send(chunks);
  }
}

/** Waveforms of a file in order, read in batches as they are asked for. */
class WaveformCursor {
  private batch: Waveform[] = [];
  private at = 0;
  private start = 0;
  private readonly total: number;

  constructor(private readonly input: IsmrmrdFile, private readonly batchSize = 64) {
    this.total = input.waveformCount();
  }

  /** The next waveform not yet taken, or undefined when all were. */
  peek(): Waveform | undefined {
    if (this.at >= this.batch.length) {
      this.start += this.batch.length;
      if (this.start >= this.total) return undefined;
      this.batch = this.input.readWaveforms(this.start, Math.min(this.batchSize, this.total - this.start));
      this.at = 0;
    }
    return this.batch[this.at];
  }

  take(): void {
    this.at += 1;
  }
}

/**
 * A file's acquisitions block by block (`acquisitionBlocks`: read on a
 * worker thread, the next block while the caller sends the current one),
 * the first block read from the moment this is made.
 */
class AcquisitionStream {
  private readonly blocks: AsyncGenerator<Acquisition[]>;
  private first: Promise<IteratorResult<Acquisition[]>> | undefined;

  constructor(input: IsmrmrdFile) {
    this.blocks = input.acquisitionBlocks();
    this.first = this.blocks.next();
    // handled where it is awaited; a client that fails before sending must not leave an unhandled rejection
    this.first.catch(() => undefined);
  }

  /** The next block; done at the end of the file. Rejects when a read failed. */
  next(): Promise<IteratorResult<Acquisition[]>> {
    const first = this.first;
    this.first = undefined;
    return first ?? this.blocks.next();
  }

  /** Stops reading: resolves once no read is in flight, so that the file may be closed. */
  async stop(): Promise<void> {
    const first = this.first;
    this.first = undefined;
    await first?.catch(() => undefined);
    await this.blocks.return(undefined).catch(() => undefined);
  }
}

/**
 * Sends acquisitions and waveforms, in batches; waveforms go first when older
 * than the next acquisition. The next block of acquisitions is read while
 * the current one is encoded and sent.
 */
async function sendData(connection: GadgetronConnection, input: IsmrmrdFile, acquisitions: AcquisitionStream, options: ClientOptions): Promise<number> {
  const acqCount = input.acquisitionCount();
  const out = new FrameBatch(connection);
  const waveforms = new WaveformCursor(input);
  let sent = 0;
  for (let read = await acquisitions.next(); !read.done; read = await acquisitions.next()) {
    const block = read.value;
    for (const acq of block) {
      for (let wav = waveforms.peek(); wav && wav.head.time_stamp < acq.head.acquisition_time_stamp; wav = waveforms.peek()) {
        await out.add(encodeWaveform(wav));
        waveforms.take();
      }
      await out.add(encodeAcquisition(acq));
    }
    sent += block.length;
    if (options.verbose) options.stderr(`sent ${sent} of ${acqCount} acquisitions\n`);
  }
  for (let wav = waveforms.peek(); wav; wav = waveforms.peek()) {
    await out.add(encodeWaveform(wav));
    waveforms.take();
  }
  await out.flush();
  return acqCount;
}

/** The inline config the reference client sends to ask for the statistics of a stored noise measurement. */
export function noiseDependencyQueryConfig(noiseFile: string): string {
  const value = noiseFile.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<gadgetronStreamConfiguration xmlns="http://gadgetron.sf.net/gadgetron"',
    '                              xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '  <writer>',
    '    <slot>1019</slot>',
    '    <dll>gadgetron_mricore</dll>',
    '    <classname>DependencyQueryWriter</classname>',
    '  </writer>',
    '  <gadget>',
    '    <name>NoiseSummary</name>',
    '    <dll>gadgetron_mricore</dll>',
    '    <classname>NoiseSummaryGadget</classname>',
    `    <property><name>noise_file</name><value>${value}</value></property>`,
    '  </gadget>',
    '</gadgetronStreamConfiguration>',
    '',
  ].join('\n');
}

/** Statistics of a stored noise measurement, as a dependency query answers them. */
export interface NoiseStatistics {
  status: boolean;
  channels?: number;
  minSigma?: number;
  maxSigma?: number;
  meanSigma?: number;
  noiseDwellTimeUs?: number;
}

/**
 * Asks the server about a stored noise measurement the way the reference
 * client does: a separate connection with an inline NoiseSummaryGadget
 * config and CLOSE, answered by one message 1019. Any failure gives
 * `status: false`.
 */
export async function queryNoiseStatistics(
  measurementId: string,
  options: Pick<ClientOptions, 'host' | 'port' | 'timeoutMs' | 'stderr' | 'tls'>,
): Promise<NoiseStatistics> {
  let xml: string | undefined;
  let connection: GadgetronConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    connection = await GadgetronConnection.open({ host: options.host, port: options.port, timeoutMs: options.timeoutMs, ...(options.tls ? { tls: options.tls } : {}) });
    const open = connection;
    timer = setTimeout(() => open.socket.destroy(), Math.max(options.timeoutMs, 10_000) + 20_000);
    await open.send([...encodeConfigScript(noiseDependencyQueryConfig(`GadgetronNoiseCovarianceMatrix_${measurementId}`)), ...encodeClose()]);
    for await (const frame of open.frames()) {
      if (frame.kind === 'dependency-query') xml = frame.xml;
      if (frame.kind === 'close') break;
    }
  } catch {
    options.stderr('Unable to retrieve noise statistics from server\n');
    return { status: false };
  } finally {
    if (timer) clearTimeout(timer);
    connection?.close();
  }
  if (xml === undefined) return { status: false };
  try {
    const meta = parseMeta(xml);
    if (metaGet(meta, 'status') !== 'success') return { status: false };
    const stats: NoiseStatistics = { status: true };
    const set = (key: keyof Omit<NoiseStatistics, 'status'>, name: string): void => {
      const v = metaGetNumber(meta, name);
      if (v !== undefined) stats[key] = v;
    };
    set('channels', 'channels');
    set('minSigma', 'min_sigma');
    set('maxSigma', 'max_sigma');
    set('meanSigma', 'mean_sigma');
    set('noiseDwellTimeUs', 'noise_dwell_time_us');
    return stats;
  } catch {
    return { status: false };
  }
}

/**
 * Prints the measurement's dependencies and, when one has dependencyType
 * "Noise", queries the server for it first, exactly as the reference client
 * does; a missing noise measurement only prints a warning.
 */
async function reportDependencies(headerXml: string, options: ClientOptions): Promise<NoiseStatistics | undefined> {
  let dependencies: { dependencyType: string; measurementID: string }[];
  try {
    dependencies = parseIsmrmrdHeader(headerXml).measurementInformation?.measurementDependency ?? [];
  } catch {
    return undefined;
  }
  if (dependencies.length === 0) return undefined;
  options.stdout('This measurement has dependent measurements\n');
  let noiseId = '';
  for (const d of dependencies) {
    options.stdout(`  ${d.dependencyType} : ${d.measurementID}\n`);
    if (d.dependencyType === 'Noise') noiseId = d.measurementID;
  }
  if (noiseId === '') return undefined;
  options.stdout(`Querying the Gadgetron instance for the dependent measurement: ${noiseId}\n`);
  const stats = await queryNoiseStatistics(noiseId, options);
  if (!stats.status) {
    options.stdout('WARNING: Dependent noise measurement not found on Gadgetron server. Was the noise data processed?\n');
  } else {
    const f = (v: number | undefined): string => (v === undefined ? 'unknown' : formatMetaNumber(v, false));
    options.stdout(`Noise level: Min sigma = ${f(stats.minSigma)}, Mean sigma = ${f(stats.meanSigma)}, Max sigma = ${f(stats.maxSigma)}\n`);
  }
  return stats;
}
