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
import type { Image } from '../ismrmrd/types.js';
import { serializeMeta } from '../ismrmrd/meta.js';
import {
  encodeAcquisition, encodeClose, encodeConfigFile, encodeConfigScript, encodeHeader, encodeQuery, encodeWaveform,
} from '../protocol/index.js';
import { GadgetronConnection } from './connection.js';

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

  const connection = await GadgetronConnection.open({ host: options.host, port: options.port, timeoutMs: options.timeoutMs });
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
    if (input && headerXml !== undefined) {
      await connection.send(encodeHeader(headerXml));
      result.acquisitionsSent = await sendData(connection, input, options);
    }
    await connection.send(encodeClose());
  } catch (err) {
    // The server may have closed early with an error; its messages explain why.
    await Promise.race([reader, new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    input?.close();
    output?.close();
    connection.close();
    if (result.serverErrors.length > 0) return result;
    throw err;
  }
  try {
    await reader;
  } finally {
    input?.close();
    output?.close();
    connection.close();
  }
  if (!result.closedByServer) throw new Error('The server closed the connection without a CLOSE message');
  return result;
}

/** Sends acquisitions and waveforms; waveforms go first when older than the next acquisition. */
async function sendData(connection: GadgetronConnection, input: IsmrmrdFile, options: ClientOptions): Promise<number> {
  const acqCount = input.acquisitionCount();
  const wavCount = input.waveformCount();
  const batch = 64;
  let w = 0;
  let waveforms = wavCount > 0 ? input.readWaveforms(0, Math.min(batch, wavCount)) : [];
  let wi = 0;
  const nextWaveform = () => {
    if (wi >= waveforms.length && w + waveforms.length < wavCount) {
      w += waveforms.length;
      waveforms = input.readWaveforms(w, Math.min(batch, wavCount - w));
      wi = 0;
    }
    return waveforms[wi];
  };
  for (let start = 0; start < acqCount; start += batch) {
    const acqs = input.readAcquisitions(start, Math.min(batch, acqCount - start));
    for (const acq of acqs) {
      for (let wav = nextWaveform(); wav && wav.head.time_stamp < acq.head.acquisition_time_stamp; wav = nextWaveform()) {
        await connection.send(encodeWaveform(wav));
        wi += 1;
      }
      await connection.send(encodeAcquisition(acq));
    }
    if (options.verbose) options.stderr(`sent ${Math.min(start + batch, acqCount)} of ${acqCount} acquisitions\n`);
  }
  for (let wav = nextWaveform(); wav; wav = nextWaveform()) {
    await connection.send(encodeWaveform(wav));
    wi += 1;
  }
  return acqCount;
}
