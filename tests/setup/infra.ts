import { startInfra } from '@allot/local-servers';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    mongoUrl: string;
  }
}

/** Starts NATS + FerretDB once per test run (or uses NATS_URL / MONGO_URL) and stops them after. */
export default async function setup(project: TestProject) {
  const infra = await startInfra();
  project.provide('natsUrl', infra.natsUrl);
  project.provide('mongoUrl', infra.mongoUrl);
  return () => infra.stop();
}
