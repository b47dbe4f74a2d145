/**
 * Authentication of the HTTP side (`--http-token-file`): bearer tokens from a
 * file (one per line), checked on every request except the probes and the
 * metrics (`/livez`, `/readyz`, `/metrics`, unless `--http-auth-all`).
 *
 * - API clients send `Authorization: Bearer TOKEN`.
 * - The page: `/` without a token answers 401 with a small login form; a
 *   right token posted to `/login` sets an HttpOnly, SameSite=Strict cookie
 *   holding an HMAC of the token under a key made at start (not the token),
 *   so the page's fetches, event stream and downloads carry it. `/logout`
 *   clears it.
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`, against
 * every token, so neither the length nor which token matched shows in the
 * time. Tokens and cookies are never logged.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../util/logger.js';

/** Settings of HTTP authentication. */
export interface HttpAuthOptions {
  /** Accepted bearer tokens. */
  tokens: readonly string[];
  /** Also protect /livez, /readyz and /metrics. */
  protectAll?: boolean;
  /** Mark the cookie `Secure` (the HTTP side runs HTTPS). */
  secureCookie?: boolean;
}

/** Paths open without a token unless `protectAll`. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz', '/metrics']);
/** Paths always open: the login form and logout. */
const LOGIN_PATHS: ReadonlySet<string> = new Set(['/login', '/logout']);
/** Name of the page's cookie. */
export const SESSION_COOKIE = 'gantry_session';
/** Shortest token accepted, characters. */
export const MIN_TOKEN_LENGTH = 16;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Checks tokens and page cookies in constant time. */
export class TokenChecker {
  private readonly tokenDigests: Buffer[];
  private readonly cookieDigests: Buffer[];
  private readonly cookieKey = randomBytes(32);

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error('Cannot protect the HTTP side without a token');
    this.tokenDigests = tokens.map(digest);
    this.cookieDigests = tokens.map((t) => digest(this.cookieFor(t)));
  }

  /** True when `candidate` is one of the tokens. */
  token(candidate: string): boolean {
    return matchesAny(digest(candidate), this.tokenDigests);
  }

  /** True when `candidate` is the cookie value of one of the tokens. */
  cookie(candidate: string): boolean {
    return matchesAny(digest(candidate), this.cookieDigests);
  }

  /** The cookie value standing for `token` (valid until the server restarts). */
  cookieFor(token: string): string {
    return createHmac('sha256', this.cookieKey).update(token, 'utf8').digest('base64url');
  }
}

function matchesAny(candidate: Buffer, digests: readonly Buffer[]): boolean {
  let match = false;
  for (const d of digests) if (timingSafeEqual(candidate, d)) match = true;
  return match;
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const LOGIN_PAGE = (failed: boolean): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gantry — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;background:#111;color:#ddd;display:flex;justify-content:center;margin-top:15vh}
form{display:flex;flex-direction:column;gap:.6em;min-width:20em}input,button{font-size:1em;padding:.4em}.err{color:#f88}</style></head>
<body><form method="post" action="login" id="login">
<h1>Gantry</h1><label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${failed ? '<p class="err" id="login-error">That token is not valid.</p>' : ''}<button type="submit" id="login-submit">Sign in</button>
</form></body></html>
`;

/** Adds the authentication hook and the /login and /logout routes to `app`. */
export function registerAuth(app: FastifyInstance, options: HttpAuthOptions, log: Logger): TokenChecker {
  const checker = new TokenChecker(options.tokens);
  const secure = options.secureCookie ? '; Secure' : '';
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const refuse = (req: FastifyRequest, reply: FastifyReply, path: string, invalid: boolean): FastifyReply => {
    log.warn('http request refused: no valid token', { method: req.method, path, ...(req.ip ? { remote: req.ip } : {}) });
    reply.code(401).header('www-authenticate', invalid ? 'Bearer realm="gantry", error="invalid_token"' : 'Bearer realm="gantry"')
      .header('cache-control', 'no-store');
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) return reply.type('text/html; charset=utf-8').send(LOGIN_PAGE(false));
    return reply.send({ error: 'Unauthorized: send Authorization: Bearer TOKEN (a token from the server\'s --http-token-file), or sign in on the page' });
  };

  app.addHook('onRequest', async (req, reply) => {
    const path = (req.raw.url ?? '/').split('?')[0] ?? '/';
    if (LOGIN_PATHS.has(path) || (!options.protectAll && OPEN_PATHS.has(path))) return;
    const bearer = bearerToken(req.headers.authorization);
    if (bearer !== undefined) {
      if (checker.token(bearer)) return;
      return refuse(req, reply, path, true);
    }
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && checker.cookie(cookie)) return;
    return refuse(req, reply, path, cookie !== undefined);
  });

  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(LOGIN_PAGE(false)));
  app.post('/login', async (req, reply) => {
    const body = req.body as Record<string, unknown> | undefined;
    const token = typeof body?.['token'] === 'string' ? body['token'].trim() : '';
    if (token === '' || !checker.token(token)) {
      log.warn('http sign-in refused: wrong token', { ...(req.ip ? { remote: req.ip } : {}) });
      return reply.code(401).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(LOGIN_PAGE(true));
    }
    return reply.code(303)
      .header('set-cookie', `${SESSION_COOKIE}=${checker.cookieFor(token)}; Path=/; HttpOnly; SameSite=Strict${secure}`)
      .header('location', './').send();
  });
  app.post('/logout', async (_req, reply) => reply.code(303)
    .header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`)
    .header('location', './login').send());
  return checker;
}
