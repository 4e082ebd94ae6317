#!/usr/bin/env node
// The partner-gateway ops CLI. In this repository Node runs the TypeScript sources directly (type
// stripping, Node >= 22.18: npm scripts use the project's Node 24); an installed package runs its build.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(source) ? source : new URL('../dist/src/cli/main.js', import.meta.url);
try {
  await import(entry.href);
} catch (error) {
  const hint =
    error?.code === 'ERR_UNKNOWN_FILE_EXTENSION'
      ? ` (Node ${process.versions.node} cannot run TypeScript: use Node 24, e.g. npx node)`
      : '';
  process.stderr.write(`partner-gateway: ${String(error?.message ?? error).split('\n')[0]}${hint}\n`);
  process.exit(1);
}
