// Bundles src/main.ts and the pinned packages into dist/angular-client.js: esbuild, with
// Angular's linker (@angular/compiler-cli/linker/babel) run at build time on the packages'
// partial declarations (ɵɵngDeclare*), so the page needs no Angular compiler at run time
// and boots without JIT. No Angular CLI. Run by scripts/setup-deps.sh as `npm run build`.
import {readFile} from 'node:fs/promises';
import {transformAsync} from '@babel/core';
import linker from '@angular/compiler-cli/linker/babel';
import {build} from 'esbuild';

const angularLinker = {
  name: 'angular-linker',
  setup(b) {
    b.onLoad({filter: /node_modules[\\/].*\.m?js$/}, async (args) => {
      const code = await readFile(args.path, 'utf8');
      if (!code.includes('ɵɵngDeclare')) return {contents: code, loader: 'js'};
      const out = await transformAsync(code, {
        filename: args.path, plugins: [linker], compact: false, sourceMaps: false,
        configFile: false, babelrc: false,
      });
      return {contents: out.code, loader: 'js'};
    });
  },
};

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/angular-client.js',
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2022',
  define: {ngDevMode: 'false', ngJitMode: 'false'},
  tsconfig: 'tsconfig.json',
  plugins: [angularLinker],
  logLevel: 'warning',
});
