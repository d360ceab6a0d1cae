import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const pages = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/**
 * Citations of documents that live outside this repository: a product contract or engineering
 * notes kept elsewhere, numbered sections of them, the original requirement seeds. The
 * repository must explain itself, so a comment or doc names a file of its own instead.
 */
const outsideCitation = [/\bSPEC\b/, /ENGINEERING\.md/i, /§/, /\.\.\/shared\b/, /\/work\/shared\b/, /\bseeds\//, /\bseed \d{3}\b/];
/** Generated or locked files carry no prose of ours; this file names the patterns themselves. */
const notProse = [/(^|\/)pnpm-lock\.yaml$/, /^tests\/docs\.test\.ts$/];

/** Every tracked text file: code, docs, config, scripts (binary files hold a NUL byte). */
function trackedTextFiles(): { file: string; text: string }[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0');
  return files
    .filter((file) => file && !notProse.some((p) => p.test(file)) && existsSync(path.join(root, file)))
    .map((file) => ({ file, text: readFileSync(path.join(root, file), 'utf8') }))
    .filter(({ text }) => !text.includes('\0'));
}

describe('docs', () => {
  it('docs - every link in the README and docs/ leads to a file of this repository', () => {
    for (const page of pages) {
      const text = readFileSync(path.join(root, page), 'utf8');
      // Outside code blocks, where URLs of a local stack (127.0.0.1) are examples, not links.
      const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
      expect(prose.match(/https?:\/\/\S+/g) ?? [], page).toEqual([]);
      for (const [, target] of prose.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
        expect(target, page).not.toMatch(/^[a-z]+:/);
        expect(existsSync(path.join(root, path.dirname(page), target as string)), `${page} → ${target}`).toBe(true);
      }
    }
  });

  it('docs - no tracked file cites a document outside this repository', () => {
    const found: string[] = [];
    for (const { file, text } of trackedTextFiles())
      text.split('\n').forEach((line, i) => {
        if (outsideCitation.some((p) => p.test(line))) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    // Name the file of this repository that says it (docs/api.md, docs/events.md, a service's
    // README.md, …), or say the rule in a few words; see CONTRIBUTING.md.
    expect(found).toEqual([]);
  });
});
