/**
 * Writes the gateway's OpenAPI document, built in this process exactly as `/v1/openapi.json`
 * serves it (no NATS or database needed), to the path given (default `.cache/openapi.json`), for
 * tools that read a file: `pnpm run openapi:lint` lints it with Spectral.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '@allot/gateway';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.resolve(root, process.argv[2] ?? '.cache/openapi.json');
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${path.relative(root, file)}`);
