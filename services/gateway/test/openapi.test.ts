import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness';

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
}

interface Document {
  info: { contact?: object; license?: { name?: string } };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * What tools written elsewhere need from `/v1/openapi.json`: SDK generators name methods after
 * `operationId` and group them by tag, Swagger UI at `/docs` groups by tag, and a reader learns
 * from the description what an operation does and who may call it.
 */
describe('gateway OpenAPI document', () => {
  let gw: TestGateway;
  let document: Document;
  let operations: { where: string; operation: Operation }[];
  beforeAll(async () => {
    gw = await startTestGateway();
    const served = await gw.call('GET', '/v1/openapi.json');
    expect(served.status).toBe(200);
    document = served.body as Document;
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => methods.has(method))
        .map(([method, operation]) => ({ where: `${method.toUpperCase()} ${path}`, operation })),
    );
  });
  afterAll(() => gw.stop());

  it('openapi - every operation has a unique camelCase operationId', () => {
    expect(operations.length).toBeGreaterThan(50);
    const missing = operations.filter(({ operation }) => !/^[a-z]+[A-Z][A-Za-z]*$/.test(operation.operationId ?? ''));
    expect(missing.map(({ where, operation }) => `${where}: ${operation.operationId}`)).toEqual([]);
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
  });

  it('openapi - every operation has exactly one tag, declared with a description at the top level', () => {
    const declared = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description ?? '']));
    for (const [name, description] of declared) expect(description, name).not.toBe('');
    const untagged = operations.filter(({ operation }) => operation.tags?.length !== 1 || !declared.has(operation.tags[0] as string));
    expect(untagged.map(({ where, operation }) => `${where}: ${operation.tags}`)).toEqual([]);
    // Every declared area has operations: `/docs` shows no empty group.
    const used = new Set(operations.map(({ operation }) => operation.tags?.[0]));
    expect([...declared.keys()].filter((name) => !used.has(name))).toEqual([]);
  });

  it('openapi - every operation has a description that says more than its summary and names its credentials', () => {
    const bare = operations.filter(
      ({ operation }) => !operation.description || operation.description === operation.summary || operation.description.length < 30,
    );
    expect(bare.map(({ where }) => where)).toEqual([]);
    const secured = operations.filter(({ where }) => where !== 'POST /v1/webhooks/supplier');
    const unsaid = secured.filter(
      ({ operation }) => !/Called with (the root key|a tenant API key|a user token)/.test(operation.description ?? ''),
    );
    expect(unsaid.map(({ where }) => where)).toEqual([]);
  });

  it('openapi - the document names its servers, a contact and a licence', () => {
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(document.info.contact).toBeDefined();
    expect(document.info.license?.name).toBeTruthy();
  });
});
