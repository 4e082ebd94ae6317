#!/usr/bin/env node
// The partner-gateway ops CLI. Node runs the TypeScript sources directly (type stripping, Node >= 22.18).
try {
  await import('../src/cli/main.ts');
} catch (error) {
  const hint = error?.code === 'ERR_UNKNOWN_FILE_EXTENSION' ? ` (Node ${process.versions.node} cannot run TypeScript: use Node 24, e.g. npx node)` : '';
  process.stderr.write(`partner-gateway: ${String(error?.message ?? error).split('\n')[0]}${hint}\n`);
  process.exit(1);
}
