/**
 * Writes docs/asyncapi.json from the contracts. With --check, fails if the file is stale
 * (run by `make test`, so the document can never drift from the schemas).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from '@allot/infra';
import { buildAsyncApi } from '../src/asyncapi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const file = path.join(root, 'docs/asyncapi.json');
const pkg = JSON.parse(readFileSync(path.join(root, 'libs/contracts/package.json'), 'utf8'));
const text = `${JSON.stringify(buildAsyncApi(pkg.version), null, 2)}\n`;

writeOrCheck(root, file, text, 'pnpm contracts:gen');
