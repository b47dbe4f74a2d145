/**
 * The hostile connections of hostile-input.test.ts: named attacks with the
 * error each must get, and the fast-check generator of fuzzed connections.
 */
import fc from 'fast-check';
import { concatChunks, encodeClose, encodeConfigFile, encodeConfigScript, encodeFrame, encodeHeader, encodeText } from '../../src/protocol/index.js';
import { arbitraryFrame } from '../../src/protocol/frame-testing.js';
import type { EncodedDataset } from '../helpers/recon-session.js';
import { billionLaughs } from '../helpers/xml-attacks.js';

/** Timeouts the test server runs with (ms). */
export const CONNECT_TIMEOUT_MS = 2000;
export const IDLE_TIMEOUT_MS = 3000;
export const SESSION_TIMEOUT_MS = 20_000;
/** The server's linger after its final CLOSE (5 s) plus scheduling slack on a loaded CI machine. */
export const SLACK_MS = 8000;

const u16 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff);

/** A config-file frame (id 1) naming `name` as raw bytes: no check on what the name holds (NULs included). */
function rawConfigFile(name: string): Uint8Array {
  const bytes = new Uint8Array(2 + 1024);
  bytes[0] = 1;
  bytes.set(new TextEncoder().encode(name).subarray(0, 1024), 2);
  return bytes;
}

/** An acquisition header (id 1008) claiming 65535 samples × 65535 channels, with no data behind it. */
function billionSampleAcquisition(): Uint8Array {
  const bytes = new Uint8Array(2 + 340);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 1008, true);
  view.setUint16(2, 1, true); // version
  view.setUint16(2 + 34, 0xffff, true); // number_of_samples
  view.setUint16(2 + 36, 0xffff, true); // available_channels
  view.setUint16(2 + 38, 0xffff, true); // active_channels
  return bytes;
}

/** The dataset's header with its matrix and channel count replaced. */
function headerClaiming(xml: string, x: number, y: number, channels: number): string {
  return xml
    .replace(/(<encodedSpace>\s*<matrixSize>\s*<x>)\d+(<\/x>\s*<y>)\d+/, `$1${x}$2${y}`)
    .replace(/<receiverChannels>\d+<\/receiverChannels>/, `<receiverChannels>${channels}</receiverChannels>`);
}

/** One named hostile connection and what its answer must show. */
export interface HostileCase {
  name: string;
  chunks: Uint8Array[];
  options?: { halfClose?: boolean; gapMs?: number; waitMs?: number };
  expect: RegExp;
  /** The error must come within this long of connecting (ms). */
  withinMs: number;
}

export function hostileCases(data: EncodedDataset): HostileCase[] {
  const config = encodeConfigFile('default.xml');
  const header = encodeHeader(data.headerXml);
  const fast = CONNECT_TIMEOUT_MS + SLACK_MS;
  const traversal = ['../../etc/passwd', '..\\..\\windows\\win.ini', '/etc/passwd', 'default.xml/../../../etc/passwd', './default.xml', 'sub/../default.xml', '%2e%2e%2fetc%2fpasswd'];
  return [
    { name: 'slow-loris before the config (1 byte a second)', chunks: [...concatChunks(config)].map((b) => Uint8Array.of(b)), options: { gapMs: 1000, waitMs: 20_000 }, expect: /\] ERROR: Connect timeout: the config and ISMRMRD header did not arrive within 2000 ms/, withinMs: CONNECT_TIMEOUT_MS + SLACK_MS },
    { name: 'slow-loris after the config (1 byte a second)', chunks: [concatChunks(config), ...[...concatChunks(header)].map((b) => Uint8Array.of(b))], options: { gapMs: 1000, waitMs: 20_000 }, expect: /\] ERROR: Connect timeout: the ISMRMRD header did not arrive within 2000 ms/, withinMs: CONNECT_TIMEOUT_MS + SLACK_MS },
    { name: 'slow-loris while streaming (1 byte a second)', chunks: [concatChunks([...config, ...header]), ...[...(data.acquisitions[0] ?? new Uint8Array(8))].map((b) => Uint8Array.of(b))], options: { gapMs: 1000, waitMs: SESSION_TIMEOUT_MS + 15_000 }, expect: /\] ERROR: Session timeout: the session ran longer than 20000 ms/, withinMs: SESSION_TIMEOUT_MS + SLACK_MS },
    { name: 'half-open: connects and never sends', chunks: [], options: { waitMs: 20_000 }, expect: /\] ERROR: Connect timeout/, withinMs: CONNECT_TIMEOUT_MS + SLACK_MS },
    { name: 'half-open: config and header, then silence', chunks: [concatChunks([...config, ...header])], options: { waitMs: 20_000 }, expect: /\] ERROR: Connection idle for more than 3000 ms/, withinMs: IDLE_TIMEOUT_MS + SLACK_MS },
    { name: 'a 4 GiB config length', chunks: [u16(2), Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(60, 120)], expect: /\] ERROR: .*4294967295 bytes exceeds the limit of 4194304 bytes/, withinMs: fast },
    { name: 'a 4 GiB header length', chunks: [concatChunks(config), u16(3), Uint8Array.of(0xff, 0xff, 0xff, 0xff)], expect: /\] ERROR: .*exceeds the limit/, withinMs: fast },
    { name: 'a 16 EiB text length', chunks: [u16(5), new Uint8Array(8).fill(0xff)], expect: /\] ERROR: .*exceeds the limit/, withinMs: fast },
    { name: 'an acquisition claiming 65535 samples × 65535 channels', chunks: [concatChunks([...config, ...header]), billionSampleAcquisition()], expect: /\] ERROR: .*exceeds? the limit of 67108864 bytes/, withinMs: fast },
    { name: 'a header claiming a 65535 × 65535 matrix × 128 channels', chunks: [concatChunks([...config, ...encodeHeader(headerClaiming(data.headerXml, 65535, 65535, 128))])], expect: /\] ERROR: .*more than the session memory budget of 268435456 bytes/, withinMs: fast },
    { name: 'a header claiming a billion rows', chunks: [concatChunks([...config, ...encodeHeader(headerClaiming(data.headerXml, 128, 1_000_000_000, 4))])], expect: /\] ERROR: .*1000000000/, withinMs: fast },
    ...traversal.map((name) => ({ name: `config name ${JSON.stringify(name)}`, chunks: [rawConfigFile(name)], expect: /\] ERROR: .*(may not contain paths|not found|Cannot|No config)/i, withinMs: fast })),
    { name: 'an XML bomb as the config', chunks: [concatChunks(encodeConfigScript(billionLaughs('configuration')))], expect: /\] ERROR: .*document type declarations are not allowed/, withinMs: fast },
    { name: 'an XML bomb as the ISMRMRD header', chunks: [concatChunks([...config, ...encodeHeader(billionLaughs('ismrmrdHeader'))])], expect: /\] ERROR: .*document type declarations are not allowed/, withinMs: fast },
    { name: 'an external entity in the config', chunks: [concatChunks(encodeConfigScript('<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><configuration>&x;</configuration>'))], expect: /\] ERROR: .*document type declarations are not allowed/, withinMs: fast },
    {
      name: 'a session over its byte budget (8 MiB of text messages)',
      chunks: Array.from({ length: 9 }, () => concatChunks(encodeText('x'.repeat(1024 * 1024 - 64)))),
      expect: /\] ERROR: Session sent more than 8388608 bytes, the per-session limit/,
      withinMs: fast,
    },
  ];
}

/** Raw connections the fuzzer sends: random frames, valid frames in any order, mutated valid streams, odd configs. */
export function fuzzCases(data: EncodedDataset): fc.Arbitrary<Uint8Array[]> {
  const config = concatChunks(encodeConfigFile('default.xml'));
  const prefix = concatChunks([...encodeConfigFile('default.xml'), ...encodeHeader(data.headerXml), ...data.acquisitions.slice(0, 12), ...encodeClose()]);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 1008, 1018, 1019, 1022, 1023, 1024, 1026, 1050];
  const randomFrame = fc.tuple(fc.oneof(fc.constantFrom(...ids), fc.integer({ min: 0, max: 0xffff })), fc.uint8Array({ maxLength: 96 }))
    .map(([id, body]) => concatChunks([u16(id), body]));
  const validFrame = arbitraryFrame.map((f) => concatChunks(encodeFrame(f)));
  const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(), fc.boolean())
    .map(([flips, cut, truncate]) => {
      const bytes = prefix.slice();
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      return truncate ? bytes.subarray(0, cut % bytes.length) : bytes;
    });
  const xmlText = fc.string({ unit: fc.constantFrom(...'<>/="\' &;!?[]abcxyz0123456789\n'), maxLength: 200 });
  const configScript = fc.oneof(
    xmlText,
    xmlText.map((t) => `<configuration><version>2</version><stream>${t}</stream></configuration>`),
    fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([cls, prop]) => `<configuration><version>2</version><readers/><writers/><stream><gadget><classname>${cls}</classname><property name="${prop}" value="1"/></gadget></stream></configuration>`),
  ).map((xml) => concatChunks(encodeConfigScript(xml)));
  const configName = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('../', '..\\', '/', '%2e%2e/', '\u0000').chain((p) => fc.string({ maxLength: 20 }).map((s) => `${p}${s}`)))
    .map(rawConfigFile);
  const header = xmlText.map((t) => concatChunks(encodeHeader(`<ismrmrdHeader>${t}</ismrmrdHeader>`)));
  const part = fc.oneof(
    { arbitrary: randomFrame, weight: 3 },
    { arbitrary: validFrame, weight: 3 },
    { arbitrary: mutated, weight: 3 },
    { arbitrary: configScript, weight: 2 },
    { arbitrary: configName, weight: 1 },
    { arbitrary: header.map((h) => concatChunks([config, h])), weight: 2 },
  );
  return fc.array(part, { minLength: 1, maxLength: 4 });
}

