/**
 * The dashboard: a static page and a small script (no build step, no framework) that reads the JSON
 * API with the operator's bearer token. The files hold no data, so they are served without a token;
 * everything they show comes from the API, which asks for one. The token stays in the tab
 * (sessionStorage), never in a cookie, so no other site can make the browser act with it.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';

const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

// The access report is shown in a sandboxed frame (srcdoc): it may style itself, never run a script.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function registerDashboardRoutes(app: FastifyInstance): void {
  const files = new Map(
    Object.keys(ASSETS).map((name) => [name, readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8')]),
  );
  const serve = (name: keyof typeof ASSETS) => async (_request: unknown, reply: FastifyReply) =>
    reply
      .type(ASSETS[name])
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(files.get(name));
  const options = { config: { role: 'public' as const }, schema: { hide: true } };
  app.get('/', options, async (_request, reply) => reply.redirect('/dashboard'));
  app.get('/dashboard', options, serve('index.html'));
  app.get('/dashboard/app.js', options, serve('app.js'));
  app.get('/dashboard/style.css', options, serve('style.css'));
}
