// Bundles src/main.ts and the pinned packages into dist/angular-client.js (esbuild, runtime
// JIT: no Angular CLI, no Babel linker). Run by scripts/setup-deps.sh as `npm run build`.
import {build} from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/angular-client.js',
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2022',
  define: {ngDevMode: 'false'},
  tsconfig: 'tsconfig.json',
  logLevel: 'warning',
});
