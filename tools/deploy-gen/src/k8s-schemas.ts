/**
 * `tsx tools/deploy-gen/src/k8s-schemas.ts <swagger.json> <outDir>` — turns the Kubernetes OpenAPI
 * document (api/openapi-spec/swagger.json of the k8s.io/kubernetes Go module, fetched through
 * the Go module proxy) into the per-kind JSON schemas kubeconform reads
 * (`<kind>-<group>-<version>.json`), since its default schema registry is on the internet.
 * Strict like kubeconform's own "-strict" schemas: an unknown field is an error.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Schema = Record<string, unknown>;
const [swaggerFile, outDir] = process.argv.slice(2);
if (!swaggerFile || !outDir) throw new Error('usage: k8s-schemas.ts <swagger.json> <outDir>');
const definitions = (JSON.parse(readFileSync(swaggerFile, 'utf8')) as { definitions: Record<string, Schema> }).definitions;

/** OpenAPI 2 details JSON Schema does not know, and strictness. */
function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const schema = node as Schema;
  if (schema.format === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'properties' ? mapValues(value as Schema) : convert(value);
  if (schema.properties && !schema['x-kubernetes-preserve-unknown-fields'] && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}
const mapValues = (props: Schema) => Object.fromEntries(Object.entries(props).map(([k, v]) => [k, convert(v)]));

/** The definitions a schema reaches through `$ref`. */
function reachable(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const refs = JSON.stringify(definitions[name]).matchAll(/"#\/definitions\/([^"]+)"/g);
  for (const [, ref] of refs) reachable(ref as string, seen);
  return seen;
}

mkdirSync(outDir, { recursive: true });
let written = 0;
for (const [name, definition] of Object.entries(definitions)) {
  const kinds = definition['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined;
  if (!kinds) continue;
  const defs = Object.fromEntries([...reachable(name)].map((d) => [d, convert(definitions[d])]));
  for (const { group, version, kind } of kinds) {
    const schema = { $ref: `#/definitions/${name}`, definitions: defs };
    const groupPart = group ? `-${group.split('.')[0]}` : '';
    writeFileSync(path.join(outDir, `${kind.toLowerCase()}${groupPart}-${version}.json`), JSON.stringify(schema));
    written++;
  }
}
console.error(`k8s-schemas: ${written} schemas in ${outDir}`);
