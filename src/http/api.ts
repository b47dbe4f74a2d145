/**
 * The JSON API over recent sessions: their records, their images (metadata,
 * PNG, raw float32 planes) and downloads (ISMRMRD HDF5, DICOM zip).
 *
 * | route | answer |
 * |---|---|
 * | `GET /api/sessions` | recent sessions, newest first |
 * | `GET /api/sessions/:id` | one session |
 * | `GET /api/sessions/:id/images` | the kept images' header fields and meta |
 * | `GET /api/sessions/:id/images/:n` | one image's header fields and meta |
 * | `GET /api/sessions/:id/images/:n/png` | 8-bit PNG of a plane (`part`, `z`, `channel`, `wc`, `ww`) |
 * | `GET /api/sessions/:id/images/:n/raw` | float32 little-endian plane (`part`, `z`, `channel`); `x-image-width`/`x-image-height` headers |
 * | `GET /api/sessions/:id/download.h5` | ISMRMRD HDF5 of the kept images (group = config name) |
 * | `GET /api/sessions/:id/download.zip` | DICOM series as a zip (`deidentify=1` to blank patient fields) |
 * | `GET /api/workers` | the distributed worker pool |
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { hdf5Available, hdf5UnavailableReason } from '../formats/ismrmrd-hdf5.js';
import { IMAGE_PARTS, imagePlane, planeSize, type ImagePart } from '../formats/image-plane.js';
import { imageToPng } from '../formats/png.js';
import type { SessionRecord, SessionRegistry } from '../observe/session-registry.js';
import type { Image } from '../ismrmrd/types.js';
import { imagesToDicomZip, imagesToHdf5 } from './exports.js';

interface PlaneQuery {
  part?: string;
  z?: string;
  channel?: string;
  wc?: string;
  ww?: string;
}

class BadRequest extends Error {}

function parsePlane(query: PlaneQuery): { part: ImagePart; z: number; channel: number } {
  const part = (query.part ?? 'magnitude') as ImagePart;
  if (!IMAGE_PARTS.includes(part)) throw new BadRequest(`Cannot show part '${query.part}': use one of ${IMAGE_PARTS.join(', ')}`);
  const int = (name: string, v: string | undefined): number => {
    const n = v === undefined || v === '' ? 0 : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new BadRequest(`Cannot use ${name} '${v}': a non-negative integer is needed`);
    return n;
  };
  return { part, z: int('z', query.z), channel: int('channel', query.channel) };
}

function fileStem(name: string | undefined): string {
  return (name ?? 'session').replace(/\.xml$/i, '').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60) || 'session';
}

/** Registers the API routes on `app`. */
export function registerApiRoutes(app: FastifyInstance, sessions: SessionRegistry): void {
  const notFound = (reply: FastifyReply, what: string): FastifyReply => reply.code(404).send({ error: `Cannot find ${what}` });
  const withSession = (id: string, reply: FastifyReply): SessionRecord | undefined => {
    const record = sessions.get(id);
    if (!record) notFound(reply, `session ${id}`);
    return record;
  };
  const withImage = (id: string, n: string, reply: FastifyReply): { record: SessionRecord; image: Image } | undefined => {
    const record = withSession(id, reply);
    if (!record) return undefined;
    const stored = record.storedImage(Number(n));
    if (!stored) {
      notFound(reply, `image ${n} of session ${id} (it may have been dropped to bound memory)`);
      return undefined;
    }
    return { record, image: stored.image };
  };

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof BadRequest || err instanceof RangeError) return reply.code(400).send({ error: err.message });
    return reply.code(500).send({ error: err instanceof Error ? err.message : String(err) });
  });

  app.get('/api/sessions', async () => ({ sessions: sessions.list() }));
  app.get<{ Params: { id: string } }>('/api/sessions/:id', async (req, reply) => {
    const record = withSession(req.params.id, reply);
    return record ? record.info() : reply;
  });
  app.get<{ Params: { id: string } }>('/api/sessions/:id/images', async (req, reply) => {
    const record = withSession(req.params.id, reply);
    return record ? { session: record.id, images: record.storedImages().map((s) => s.info) } : reply;
  });
  app.get<{ Params: { id: string; n: string } }>('/api/sessions/:id/images/:n', async (req, reply) => {
    const record = withSession(req.params.id, reply);
    if (!record) return reply;
    const stored = record.storedImage(Number(req.params.n));
    return stored ? stored.info : notFound(reply, `image ${req.params.n}`);
  });
  app.get<{ Params: { id: string; n: string }; Querystring: PlaneQuery }>('/api/sessions/:id/images/:n/png', async (req, reply) => {
    const found = withImage(req.params.id, req.params.n, reply);
    if (!found) return reply;
    const plane = parsePlane(req.query);
    const wc = req.query.wc === undefined ? NaN : Number(req.query.wc);
    const ww = req.query.ww === undefined ? NaN : Number(req.query.ww);
    const window = Number.isFinite(wc) && Number.isFinite(ww) && ww > 0 ? { center: wc, width: ww } : undefined;
    const { png, window: used } = imageToPng(found.image, { ...plane, ...(window ? { window } : {}) });
    return reply
      .type('image/png')
      .header('x-window-center', String(used.center))
      .header('x-window-width', String(used.width))
      .send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  });
  app.get<{ Params: { id: string; n: string }; Querystring: PlaneQuery }>('/api/sessions/:id/images/:n/raw', async (req, reply) => {
    const found = withImage(req.params.id, req.params.n, reply);
    if (!found) return reply;
    const values = imagePlane(found.image, parsePlane(req.query));
    const [width, height] = planeSize(found.image);
    return reply
      .type('application/octet-stream')
      .header('x-image-width', String(width))
      .header('x-image-height', String(height))
      .send(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  });
  app.get<{ Params: { id: string } }>('/api/sessions/:id/download.h5', async (req, reply) => {
    const record = withSession(req.params.id, reply);
    if (!record) return reply;
    if (!hdf5Available()) return reply.code(501).send({ error: `Cannot write HDF5: ${hdf5UnavailableReason() ?? 'the native addon is missing'}` });
    const stored = record.storedImages();
    if (stored.length === 0) return notFound(reply, `images of session ${record.id}`);
    const bytes = imagesToHdf5(stored.map((s) => s.image), record.config ?? 'gantry');
    return reply
      .type('application/x-hdf5')
      .header('content-disposition', `attachment; filename="${fileStem(record.config)}-${record.id.slice(0, 8)}.h5"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  app.get<{ Params: { id: string }; Querystring: { deidentify?: string } }>('/api/sessions/:id/download.zip', async (req, reply) => {
    const record = withSession(req.params.id, reply);
    if (!record) return reply;
    const stored = record.storedImages();
    if (stored.length === 0) return notFound(reply, `images of session ${record.id}`);
    const deidentify = req.query.deidentify === '1' || req.query.deidentify === 'true';
    const zip = imagesToDicomZip(stored.map((s) => ({ image: s.image, index: s.info.index })), {
      uidSeed: record.id,
      deidentify,
      ...(record.header ? { header: record.header } : {}),
    });
    return reply
      .type('application/zip')
      .header('content-disposition', `attachment; filename="${fileStem(record.config)}-${record.id.slice(0, 8)}-dicom.zip"`)
      .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
  });
  app.get('/api/workers', async () => ({ workers: sessions.workers() }));
}
