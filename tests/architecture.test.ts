import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import rule, checked over every tracked TypeScript file:
 * - a relative import stays inside its own package's folder;
 * - another workspace package is reached only through an entry point its `package.json`
 *   `exports` lists (`@allot/kit`, the test helpers at `@allot/kit/testing`), never its files;
 * - a package declares every workspace package it imports;
 * - arrows point down: libraries import only libraries, services only libraries (services talk
 *   over NATS, never through each other's code), and only tools, bench and tests sit on top.
 *   A library's or service's own tests may also use the local test servers (`@allot/local-servers`).
 * - inside a package's `src/`, a folder and another part (a folder or a top-level module) never
 *   import each other: the lower one (`store/`, `auth/`, `http/`) does not reach up into what
 *   builds on it (`app.ts`, or a folder that imports it).
 */
const root = path.resolve(__dirname, '..');

interface Workspace {
  name: string;
  dir: string;
  layer: number;
  entryPoints: Set<string>;
  declared: Set<string>;
}

/** Lower layers may not import higher ones. */
const layers: [RegExp, number][] = [
  [/^libs\//, 0],
  [/^services\//, 1],
  [/^(tools\/|bench$|tests$)/, 2],
];
const testInfra = '@allot/local-servers';

function readWorkspaces(): Workspace[] {
  const manifests = execFileSync('git', ['ls-files', '*package.json'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && f !== 'package.json' && existsSync(path.join(root, f)));
  return manifests.flatMap((manifest) => {
    const dir = path.dirname(manifest);
    const layer = layers.find(([pattern]) => pattern.test(dir))?.[1];
    if (layer === undefined) return [];
    const pkg = JSON.parse(readFileSync(path.join(root, manifest), 'utf8'));
    const exportsField = pkg.exports ?? {};
    const subpaths =
      typeof exportsField === 'object' && Object.keys(exportsField).some((k) => k.startsWith('.')) ? Object.keys(exportsField) : ['.'];
    return [
      {
        name: pkg.name as string,
        dir,
        layer,
        entryPoints: new Set(subpaths.map((s) => (s === '.' ? pkg.name : `${pkg.name}/${s.slice(2)}`))),
        declared: new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]),
      },
    ];
  });
}

const importPattern = /(?:^|[\s;}])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*(?:\(\s*)?['"]([^'"]+)['"]/gm;

/** Every module specifier a file imports or re-exports (static, side-effect and dynamic imports). */
export function specifiers(text: string): string[] {
  return [...text.matchAll(importPattern)].map((m) => (m[1] ?? m[2]) as string);
}

function ownerOf(file: string, workspaces: Workspace[]): Workspace | undefined {
  return workspaces.filter((w) => file.startsWith(`${w.dir}/`)).sort((a, b) => b.dir.length - a.dir.length)[0];
}

function resolvesTo(from: string, specifier: string): string {
  const target = path.join(path.dirname(from), specifier);
  for (const candidate of [target, `${target}.ts`, path.join(target, 'index.ts')]) {
    const full = path.join(root, candidate);
    if (existsSync(full) && statSync(full).isFile()) return candidate;
  }
  return target;
}

/** The rule's violations in the repository, one line each: `file: specifier — why`. */
function violations(): string[] {
  const workspaces = readWorkspaces();
  const byName = new Map(workspaces.map((w) => [w.name, w]));
  const files = execFileSync('git', ['ls-files', '*.ts', '*.tsx'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && existsSync(path.join(root, f)));
  const found: string[] = [];
  const srcEdges = new Map<string, [string, string, string][]>();
  for (const file of files) {
    const owner = ownerOf(file, workspaces);
    if (!owner) continue;
    const isTest = /(^|\/)test\//.test(file.slice(owner.dir.length + 1)) || file.endsWith('.test.ts');
    for (const spec of specifiers(readFileSync(path.join(root, file), 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolvesTo(file, spec);
        if (!target.startsWith(`${owner.dir}/`)) found.push(`${file}: ${spec} — leaves ${owner.dir}/ (import its package by name)`);
        const src = `${owner.dir}/src`;
        if (file.startsWith(`${src}/`) && target.startsWith(`${src}/`)) {
          srcEdges.set(src, [...(srcEdges.get(src) ?? []), [partOf(file, src), partOf(target, src), `${file}: ${spec}`]]);
        }
        continue;
      }
      const name = spec.split('/').slice(0, 2).join('/');
      const imported = byName.get(name);
      if (!imported || imported === owner) continue;
      if (!imported.entryPoints.has(spec))
        found.push(`${file}: ${spec} — not an entry point of ${name} (${[...imported.entryPoints].join(', ')})`);
      if (!owner.declared.has(name)) found.push(`${file}: ${spec} — ${owner.dir}/package.json does not declare ${name}`);
      const upward = imported.layer > owner.layer || (imported.layer === 1 && owner.layer === 1);
      if (upward && !(isTest && name === testInfra)) found.push(`${file}: ${spec} — ${owner.dir} may not depend on ${imported.dir}`);
    }
  }
  for (const [src, edges] of srcEdges) found.push(...mutualIn(src, edges, (part) => !part.endsWith('.ts')));
  return found;
}

/** The part of `src/` a file belongs to: its first folder, or the module itself at the top. */
function partOf(file: string, src: string): string {
  return file.slice(src.length + 1).split('/')[0] as string;
}

/**
 * Imports inside one package's `src/` between a folder and another part that imports it back:
 * one of the two arrows runs upward (`auth/` reading `http/`, which builds on `auth/`).
 */
function mutualIn(src: string, edges: [from: string, to: string, line: string][], isFolder: (part: string) => boolean): string[] {
  const pairs = new Set(edges.map(([from, to]) => `${from} ${to}`));
  return edges
    .filter(([from, to]) => from !== to && (isFolder(from) || isFolder(to)) && pairs.has(`${to} ${from}`))
    .map(([from, to, line]) => `${line} — in ${src}/, ${from} and ${to} import each other`);
}

describe('architecture - imports', () => {
  it('finds the specifiers a file imports, whatever the form', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '@allot/kit';",
      "export { c } from '../c';",
      "export * as d from './d';",
      "import './side-effect';",
      "const e = await import('./e');",
      'import {\n  f,\n  g,\n} from "@allot/contracts";',
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a', '@allot/kit', '../c', './d', './side-effect', './e', '@allot/contracts']);
  });

  it('an entry point lists what it exports: no `export *` hands on a module whole', () => {
    const entries = execFileSync('git', ['ls-files', '*/src/index.ts'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && existsSync(path.join(root, f)));
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.filter((f) => /^\s*export\s*\*/m.test(readFileSync(path.join(root, f), 'utf8')))).toEqual([]);
  });

  it('no import leaves its package, reaches into another, is undeclared or runs upward', () => {
    expect(violations()).toEqual([]);
  });
});

describe('architecture - tests', () => {
  it('a package keeps its tests in its own test/ folder; tests of the whole stack and of the repository live in tests/', () => {
    const tests = execFileSync('git', ['ls-files', '*.test.ts'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && existsSync(path.join(root, f)));
    expect(tests.length).toBeGreaterThan(50);
    expect(tests.filter((f) => !/^(libs|services|tools)\/[^/]+\/test\//.test(f) && !f.startsWith('tests/'))).toEqual([]);
  });
});
