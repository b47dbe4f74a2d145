/**
 * The HTTP side of `gantry serve` (Fastify): health (/livez, /readyz),
 * Prometheus metrics (/metrics), the JSON API over recent sessions and their
 * images (/api/…), a live event stream (/api/events, server-sent events) and
 * the web page (/, bundled from web/ into dist/web at build time).
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { SessionRegistry } from '../observe/session-registry.js';
import type { StorageCounters } from '../storage/instrumented-store.js';
import type { Logger } from '../util/logger.js';
import { registerApiRoutes } from './api.js';
import { registerAuth, type HttpAuthOptions } from './auth.js';
import { createMetrics, type ReadinessSource } from './metrics.js';

/** HTTP server settings. */
export interface HttpServerOptions {
  host: string;
  port: number;
  sessions: SessionRegistry;
  readiness: ReadinessSource;
  log: Logger;
  build: { version: string; commit: string };
  storage?: StorageCounters;
  /** Folder with the bundled page (default: dist/web beside the compiled sources). */
  webRoot?: string;
  /** HTTPS: PEM certificate chain and key (`--http-tls-cert/--http-tls-key`); absent = plain HTTP. */
  https?: { cert: Buffer; key: Buffer };
  /** Bearer tokens the API and page require (`--http-token-file`); absent = open. */
  auth?: HttpAuthOptions;
}

/** Where the build puts the page: `dist/web`. */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** True when the server takes new sessions: not draining and below the session limit. */
export function isReady(r: ReadinessSource): boolean {
  return !r.draining && r.activeSessions < r.maxSessions;
}

/** A running HTTP server. */
export class GantryHttpServer {
  readonly app: FastifyInstance;
  readonly metrics: MetricsRegistry;
  private readonly streams = new Set<FastifyReply>();

  constructor(private readonly options: HttpServerOptions) {
    // with `https` Fastify serves over an https.Server; the routes and hooks are the same
    this.app = (options.https
      ? Fastify({ logger: false, forceCloseConnections: true, https: options.https })
      : Fastify({ logger: false, forceCloseConnections: true })) as unknown as FastifyInstance;
    if (options.auth) registerAuth(this.app, { ...options.auth, secureCookie: options.https !== undefined }, options.log);
    this.metrics = createMetrics({
      sessions: options.sessions,
      readiness: options.readiness,
      build: options.build,
      ...(options.storage ? { storage: options.storage } : {}),
    });
    this.routes();
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await this.app.listen({ host: this.options.host, port: this.options.port });
    const address = this.app.server.address() as AddressInfo;
    this.options.log.info('gantry http listening', {
      host: address.address, port: address.port, ...(this.options.https ? { tls: true } : {}), ...(this.options.auth ? { auth: true } : {}),
    });
    return address;
  }

  /** Ends the event streams and stops the server. */
  async close(): Promise<void> {
    for (const reply of this.streams) reply.raw.end();
    this.streams.clear();
    await this.app.close();
  }

  private routes(): void {
    const { app, options } = this;
    app.get('/livez', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const r = options.readiness;
      const ready = isReady(r);
      return reply.code(ready ? 200 : 503).send({ ready, draining: r.draining, activeSessions: r.activeSessions, maxSessions: r.maxSessions });
    });
    app.get('/metrics', async (_req, reply) => {
      const text = await this.metrics.metrics();
      return reply.type(this.metrics.contentType).send(text);
    });
    app.get('/api/server', async () => ({
      version: options.build.version,
      commit: options.build.commit,
      ready: isReady(options.readiness),
      draining: options.readiness.draining,
      activeSessions: options.readiness.activeSessions,
      maxSessions: options.readiness.maxSessions,
    }));
    app.get('/api/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': gantry events\n\n');
      this.streams.add(reply);
      const unsubscribe = options.sessions.subscribe((event) => {
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      heartbeat.unref();
      req.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        this.streams.delete(reply);
      });
    });
    registerApiRoutes(app, options.sessions);
    const webRoot = options.webRoot ?? defaultWebRoot();
    for (const [route, file] of Object.entries(STATIC_FILES)) {
      app.get(route, async (_req, reply) => {
        try {
          const body = await readFile(join(webRoot, file));
          const ext = file.slice(file.lastIndexOf('.') + 1);
          return reply.type(CONTENT_TYPES[ext] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(body);
        } catch {
          return reply.code(503).type('text/plain; charset=utf-8')
            .send(`The web page is not built (missing ${join(webRoot, file)}): run \`npm run build\`.\n`);
        }
      });
    }
  }
}
