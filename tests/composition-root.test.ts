import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every service is put together in one place: `src/context.ts` exports `<name>Context`, the
 * composition root `src/service.ts` hands to `defineService`, and what it builds holds the parts
 * the handlers use, never the service itself (every other hook receives the context).
 */
const root = path.resolve(__dirname, '..');
// The services in the repository (tracked), not whatever a running test put in the folder.
const services = execFileSync('git', ['ls-files', 'services/*/src/service.ts'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  .map((file) => file.split('/')[1] as string);
const read = (service: string, file: string) => readFileSync(path.join(root, 'services', service, 'src', file), 'utf8');

describe('composition roots', () => {
  it.each(services)('%s - one context built in src/context.ts, with no service in it', (service) => {
    const builder = `${service}Context`;
    const context = read(service, 'context.ts');
    expect(context).toMatch(new RegExp(`export (async )?function ${builder}\\(`));
    expect(read(service, 'service.ts')).toMatch(new RegExp(`context: (${builder}|\\(service\\) => ${builder}\\(service)`));
    // A field named `service` hands the whole service to whatever receives the context.
    expect(context).not.toMatch(/^\s+service[?]?:/m);
    expect(context).not.toMatch(/^\s+service,$/m);
  });
});
