/**
 * `tsx services/gateway/dashboard/build.ts <outDir>` — the image's dashboard: the page, its
 * stylesheet and its bundled script in `<outDir>`, which the gateway serves as they are
 * (production images have no bundler).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDashboard } from './bundle';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: build.ts <outDir>');
const here = path.dirname(fileURLToPath(import.meta.url));
await mkdir(outDir, { recursive: true });
for (const file of ['index.html', 'dashboard.css']) await copyFile(path.join(here, file), path.join(outDir, file));
await writeFile(path.join(outDir, 'dashboard.js'), await bundleDashboard(path.join(here, 'src/main.ts')));
