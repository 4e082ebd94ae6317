// The build's non-TypeScript files: the default policy, the SQL migrations and the ops dashboard's
// page, script and style, beside the modules that read them by a path relative to their own URL.
// Plain JavaScript, so that the build runs on any supported Node (a git install builds with the
// installer's Node, which may not strip types).
import { cpSync } from 'node:fs';

cpSync('config', 'dist/config', { recursive: true });
cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true });
cpSync('src/server/dashboard', 'dist/src/server/dashboard', { recursive: true });
