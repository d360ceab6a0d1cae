import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** A new id `<prefix>_<ULID>`: unique, and sorting by it sorts by creation time. */
export function newId(prefix: string): string {
  return `${prefix}_${ulid()}`;
}
