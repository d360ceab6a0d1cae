import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

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
});
