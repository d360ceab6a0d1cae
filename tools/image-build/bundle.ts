/**
 * `tsx tools/image-build/bundle.ts <entry> <outDir>` — the image's build step: compiles one
 * service's entry point (e.g. services/capacity/src/main.ts) and the workspace libraries it
 * imports (TypeScript sources, which production Node cannot load without tsx) into
 * `<outDir>/main.js`. Third-party packages stay
 * external: they are installed beside it by `pnpm deploy --prod`, so the image holds production
 * dependencies only and native or dynamically loaded modules work as published.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [entry, outDir] = process.argv.slice(2);
if (!entry || !outDir) throw new Error('usage: bundle.ts <entry> <outDir>');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

await build({
  entryPoints: [path.resolve(root, entry)],
  outfile: path.join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'third-party-external',
      setup(plugin) {
        // A bare specifier that is not one of ours (`@allot/…`) is a package from node_modules.
        plugin.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@allot/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
