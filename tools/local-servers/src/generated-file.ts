import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes a generated file, or with `--check` on the command line fails (exit 1) when the
 * committed file differs from what would be generated — so `make test` catches a generated
 * document or client that drifted from its source. `regenerate` names the command that fixes it.
 */
export function writeOrCheck(root: string, file: string, text: string, regenerate: string): void {
  const name = path.relative(root, file);
  if (!process.argv.includes('--check')) {
    writeFileSync(file, text);
    console.log(`wrote ${name}`);
    return;
  }
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== text) {
    console.error(`${name} is out of date: run \`${regenerate}\` and commit it`);
    process.exit(1);
  }
  console.log(`${name} is up to date`);
}
