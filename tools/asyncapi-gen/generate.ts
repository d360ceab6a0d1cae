/**
 * Writes docs/asyncapi.json from the contracts. With --check, fails if the file is stale
 * (run by `make test`, so the document can never drift from the schemas). It lives among the
 * tools, not in `libs/contracts`, because it writes files with the tools' helpers: a library
 * never depends on a tool.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsyncApi } from '@allot/contracts';
import { writeOrCheck } from '@allot/local-servers';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'docs/asyncapi.json');
const pkg = JSON.parse(readFileSync(path.join(root, 'libs/contracts/package.json'), 'utf8'));
const text = `${JSON.stringify(buildAsyncApi(pkg.version), null, 2)}\n`;

writeOrCheck(root, file, text, 'pnpm contracts:gen');
