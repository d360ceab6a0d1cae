/**
 * Writes docs/asyncapi.json from the contracts. With --check, fails if the file is stale
 * (run by `make test`, so the document can never drift from the schemas).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsyncApi } from '../src/asyncapi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const file = path.join(root, 'docs/asyncapi.json');
const pkg = JSON.parse(readFileSync(path.join(root, 'libs/contracts/package.json'), 'utf8'));
const text = `${JSON.stringify(buildAsyncApi(pkg.version), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('docs/asyncapi.json is out of date: run `pnpm contracts:gen` and commit it');
    process.exit(1);
  }
  console.log('docs/asyncapi.json is up to date');
} else {
  writeFileSync(file, text);
  console.log(`wrote ${path.relative(root, file)}`);
}
