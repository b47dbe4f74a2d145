/**
 * End to end over real TCP: every shipped Generic_Cartesian_*.xml runs on
 * phantom data from ismrmrd_generate_cartesian_shepp_logan through
 * `gantry serve` and returns images of the expected series, data type and
 * size; and the FFT config with the k-space filter off, scaling 1 and float
 * output (a local variant of the shipped file) reproduces an independent
 * float64 reconstruction (centred unitary inverse FFT, RSS over coils) of
 * noise-free, fully sampled data. A third test runs the post-processing
 * gadgets (partial Fourier, k-space filter, FOV, std map, scaling) after
 * SimpleRecon and compares with BART's k-space filtering of the RSS image.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { defaultRegistry } from '../../src/gadgets/index.js';
import { DataType, type Image } from '../../src/ismrmrd/types.js';
import { REPO_ROOT, runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { nrmse, referenceRecon, scaleRatio } from '../helpers/reference-recon.js';
import { hasTool, missing } from '../helpers/tools.js';
import { kspaceOfRepetition } from '../helpers/kspace-from-file.js';

const MATRIX = 128;
const RECON_GADGETS = [
  'NoiseAdjustGadget',
  'GenericReconCartesianReferencePrepGadget',
  'GenericReconEigenChannelGadget',
  'GenericReconCartesianGrappaGadget',
  'GenericReconCartesianFFTGadget',
];

function skipReason(): string | undefined {
  const tools = missing(['ismrmrd_generate_cartesian_shepp_logan']);
  if (tools) return tools;
  const registry = defaultRegistry();
  const absent = RECON_GADGETS.filter((name) => registry.gadget(name) === undefined);
  return absent.length > 0 ? `the generic recon gadgets ${absent.join(', ')} are not registered yet` : undefined;
}

/** Expected output of each shipped config on the accelerated phantom (R = 2, 24 ACS lines, 4 repetitions). */
const SHIPPED: Record<string, { series: number[]; dataType: number }> = {
  'Generic_Cartesian_FFT.xml': { series: [1], dataType: DataType.USHORT },
  'Generic_Cartesian_Grappa.xml': { series: [1], dataType: DataType.USHORT },
  'Generic_Cartesian_Grappa_Complex.xml': { series: [1], dataType: DataType.CXFLOAT },
  'Generic_Cartesian_Grappa_RealTimeCine.xml': { series: [1, 20], dataType: DataType.USHORT },
  'Generic_Cartesian_Grappa_SNR.xml': { series: [1, 20, 300, 3000], dataType: DataType.USHORT },
};

function readAllImages(file: string, group: string): Image[] {
  const f = IsmrmrdFile.open(file, group);
  try {
    return f.imageSeriesNames().flatMap((name) => f.readImages(name));
  } finally {
    f.close();
  }
}

/**
 * Generic_Cartesian_FFT.xml with noise prewhitening and coil compression off,
 * no k-space filter (None in RO/E1/E2), scaling factor 1 and float magnitude output.
 */
function unfilteredFftConfig(): string {
  let xml = readFileSync(join(REPO_ROOT, 'config', 'Generic_Cartesian_FFT.xml'), 'utf8');
  const replace = (pattern: RegExp, by: string, what: string): void => {
    const next = xml.replace(pattern, by);
    assert.notEqual(next, xml, `cannot derive the test config: ${what} not found`);
    xml = next;
  };
  replace(
    /(<classname>NoiseAdjustGadget<\/classname>)/,
    '$1\n    <property><name>perform_noise_adjust</name><value>false</value></property>',
    'NoiseAdjustGadget',
  );
  // Gadgetron ignores upstream_coil_compression=false (facts §5); a threshold of -1 keeps every channel.
  replace(/(<name>upstream_coil_compression_thres<\/name><value>)[^<]*(<\/value>)/, '$1-1$2', 'upstream_coil_compression_thres');
  replace(/(<name>filter(RO|E1|E2)<\/name><value>)Gaussian(<\/value>)/g, '$1None$3', 'the Gaussian k-space filters');
  replace(/(<name>scalingFactor<\/name><value>)[^<]*(<\/value>)/, '$11$2', 'scalingFactor');
  replace(/\s*<gadget>\s*<name>FloatToUShort<\/name>[\s\S]*?<\/gadget>/, '', 'the FloatToUShort gadget');
  return xml;
}

test('Generic_Cartesian_*.xml configs run end to end over TCP', { skip: skipReason(), timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-generic-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer();
    const port = String(server.port);
    const accelerated = join(dir, 'sl_r2.h5');
    execFileSync(
      'ismrmrd_generate_cartesian_shepp_logan',
      ['-o', accelerated, '-m', String(MATRIX), '-a', '2', '-w', '24', '-r', '4', '-C'],
      { stdio: 'ignore' },
    );

    for (const [config, expected] of Object.entries(SHIPPED)) {
      await t.test(config, async () => {
        const out = join(dir, `${config}.h5`);
        const run = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-f', accelerated, '-o', out, '-G', config, '-c', config], 300_000);
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const images = readAllImages(out, config);
        const series = [...new Set(images.map((i) => i.head.image_series_index))].sort((a, b) => a - b);
        t.diagnostic(`${config}: ${images.length} images, series ${series.join(', ')}`);
        assert.deepEqual(series, expected.series);
        for (const image of images) {
          assert.deepEqual(image.head.matrix_size, [MATRIX, MATRIX, 1]);
          assert.equal(image.head.data_type, image.head.image_series_index === 1 ? expected.dataType : DataType.USHORT);
          assert.deepEqual(image.head.field_of_view.map((v) => Math.round(v)), [300, 300, 6]);
        }
        const regular = images.filter((i) => i.head.image_series_index === 1);
        assert.equal(regular.length, 8, 'one image per repetition (4 passes × 2 interleaves)');
        if (config === 'Generic_Cartesian_Grappa_SNR.xml') {
          assert.equal(images.filter((i) => i.head.image_series_index === 300).length, 8, 'one SNR map per repetition');
          assert.equal(images.filter((i) => i.head.image_series_index === 3000).length, 1, 'one std map');
        }
      });
    }

    await t.test('FFT config without filter/scaling matches an independent RSS reconstruction', async () => {
      // The facts' setup (algorithms §11): m = 256, 8 coils, noise-free, fully sampled.
      const m = 256;
      const full = join(dir, 'sl_full.h5');
      execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', full, '-m', String(m), '-n', '0'], { stdio: 'ignore' });
      const local = join(dir, 'Generic_Cartesian_FFT_unfiltered.xml');
      writeFileSync(local, unfilteredFftConfig());
      const out = join(dir, 'fft_unfiltered.h5');
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-f', full, '-o', out, '-G', 'fft', '-C', local], 300_000);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const images = readAllImages(out, 'fft');
      assert.equal(images.length, 1);
      for (const image of images) {
        assert.equal(image.head.data_type, DataType.FLOAT);
        assert.equal(image.head.image_series_index, 1);
        assert.deepEqual(image.head.matrix_size, [m, m, 1]);
        const k = kspaceOfRepetition(full, image.head.repetition);
        const reference = referenceRecon(k.data, k.ro, k.e1, k.coils, m);
        const pixels = Array.from(image.data as Float32Array);
        const err = nrmse(pixels, reference);
        const scale = scaleRatio(pixels, reference);
        t.diagnostic(`m = ${m}: NRMSE ${err.toExponential(2)} against FFT + RSS, scale ${scale.toFixed(6)}`);
        // Inati coil combination differs from RSS by its map-estimation error: 3.7e-5 expected
        // here (facts, algorithms §11: "noise-free R=1 < 1e-4 (no compression)").
        assert.ok(err < 1e-4, `NRMSE ${err} against FFT + RSS (expected about 3.7e-5 with Inati maps)`);
        assert.ok(Math.abs(scale - 1) < 1e-4, `scale ${scale}`);
      }
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Gadgetron's normalised Gaussian (σ) of an even length, from the closed form. */
function gaussianFilter(len: number, sigma: number): number[] {
  const f = [0];
  for (let k = 1; k < len; k++) {
    const x = -1 + (2 * (k - 1)) / (len - 2);
    f.push(Math.exp((-sigma * sigma * x * x) / 2));
  }
  const s = 1 / Math.sqrt(f.reduce((a, v) => a + v * v, 0) / len);
  return f.map((v) => v * s);
}

function writeCfl(base: string, data: Float32Array, shape: number[]): void {
  writeFileSync(`${base}.cfl`, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  writeFileSync(`${base}.hdr`, `# Dimensions\n${[...shape, ...new Array<number>(16 - shape.length).fill(1)].join(' ')} \n`);
}

const POST_CONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<gadgetronStreamConfiguration xmlns="http://gadgetron.sf.net/gadgetron">
  <reader><slot>1008</slot><dll>gadgetron_mricore</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader>
  <writer><slot>1022</slot><dll>gadgetron_mricore</dll><classname>MRIImageWriter</classname></writer>
  <gadget><name>AsymmetricEcho</name><dll>gadgetron_mricore</dll><classname>AsymmetricEchoAdjustROGadget</classname></gadget>
  <gadget><name>RemoveRO</name><dll>gadgetron_mricore</dll><classname>RemoveROOversamplingGadget</classname></gadget>
  <gadget><name>AccTrig</name><dll>gadgetron_mricore</dll><classname>AcquisitionAccumulateTriggerGadget</classname>
    <property><name>trigger_dimension</name><value>repetition</value></property></gadget>
  <gadget><name>Buff</name><dll>gadgetron_mricore</dll><classname>BucketToBufferGadget</classname>
    <property><name>split_slices</name><value>true</value></property></gadget>
  <gadget><name>Recon</name><dll>gadgetron_mricore</dll><classname>SimpleReconGadget</classname></gadget>
  <gadget><name>PF</name><dll>gadgetron_mricore</dll><classname>GenericReconPartialFourierHandlingFilterGadget</classname></gadget>
  <gadget><name>KSpaceFilter</name><dll>gadgetron_mricore</dll><classname>GenericReconKSpaceFilteringGadget</classname>
    <property><name>filterRO</name><value>Gaussian</value></property>
    <property><name>filterE1</name><value>Gaussian</value></property></gadget>
  <gadget><name>FOV</name><dll>gadgetron_mricore</dll><classname>GenericReconFieldOfViewAdjustmentGadget</classname></gadget>
  <gadget><name>StdMap</name><dll>gadgetron_mricore</dll><classname>GenericReconNoiseStdMapComputingGadget</classname></gadget>
  <gadget><name>Scaling</name><dll>gadgetron_mricore</dll><classname>GenericReconImageArrayScalingGadget</classname>
    <property><name>scalingFactor</name><value>10</value></property></gadget>
  <gadget><name>Split</name><dll>gadgetron_mricore</dll><classname>ImageArraySplitGadget</classname></gadget>
  <gadget><name>ComplexToFloat</name><dll>gadgetron_mricore</dll><classname>ComplexToFloatGadget</classname></gadget>
  <gadget><name>Finish</name><dll>gadgetron_mricore</dll><classname>ImageFinishGadget</classname></gadget>
</gadgetronStreamConfiguration>
`;

test(
  'generic post-processing gadgets after SimpleRecon match BART k-space filtering over TCP',
  { skip: missing(['ismrmrd_generate_cartesian_shepp_logan']) ?? (hasTool('bart') ? undefined : 'needs bart'), timeout: 300_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-post-'));
    let server: ServerProcess | undefined;
    try {
      server = await startGantryServer();
      const m = 64;
      const input = join(dir, 'sl.h5');
      execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', String(m), '-n', '0', '-r', '2', '-C'], { stdio: 'ignore' });
      const config = join(dir, 'post.xml');
      writeFileSync(config, POST_CONFIG);
      const out = join(dir, 'out.h5');
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String(server.port), '-f', input, '-o', out, '-G', 'post', '-C', config]);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const images = readAllImages(out, 'post');
      assert.equal(images.length, 2);
      const fRO = gaussianFilter(m, 1);
      const fE1 = gaussianFilter(m, 1);
      const filter = new Float32Array(2 * m * m);
      for (let y = 0; y < m; y++) for (let x = 0; x < m; x++) filter[2 * (x + m * y)] = (fRO[x] as number) * (fE1[y] as number);
      writeCfl(join(dir, 'filter'), filter, [m, m]);
      for (const image of images) {
        assert.equal(image.head.data_type, DataType.FLOAT);
        assert.deepEqual(image.meta.get('GADGETRON_ScaleRatio'), ['10']);
        const r = image.head.repetition;
        const k = kspaceOfRepetition(input, r);
        const rss = referenceRecon(k.data, k.ro, k.e1, k.coils, m);
        const rssComplex = new Float32Array(2 * m * m);
        for (let i = 0; i < m * m; i++) rssComplex[2 * i] = rss[i] as number;
        writeCfl(join(dir, `rss${r}`), rssComplex, [m, m]);
        for (const args of [
          ['fft', '-u', '3', `rss${r}`, `k${r}`],
          ['fmac', `k${r}`, 'filter', `kf${r}`],
          ['fft', '-u', '-i', '3', `kf${r}`, `ref${r}`],
        ]) {
          execFileSync('bart', args, { cwd: dir, stdio: 'pipe' });
        }
        const raw = readFileSync(join(dir, `ref${r}.cfl`));
        const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const expected = Array.from({ length: m * m }, (_, i) => 10 * Math.hypot(ref[2 * i] as number, ref[2 * i + 1] as number));
        const pixels = Array.from(image.data as Float32Array);
        const err = nrmse(pixels, expected);
        t.diagnostic(`repetition ${r}: NRMSE ${err.toExponential(2)} against RSS → bart fft/fmac/fft ×10, scale ${scaleRatio(pixels, expected).toFixed(6)}`);
        assert.ok(err < 1e-5, `NRMSE ${err}`);
      }
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
