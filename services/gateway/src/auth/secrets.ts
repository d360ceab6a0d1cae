import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a string (one-shot `crypto.hash`, cheaper than a `Hash` object per call). */
export const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer');

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/**
 * Compares presented secrets with one known secret in constant time, hashing the known one
 * once: the same result as `sameSecret(presented, known)` at half the hashing.
 */
export function secretMatcher(known: string): (presented: string) => boolean {
  const knownHash = sha256(known);
  return (presented) => timingSafeEqual(sha256(presented), knownHash);
}

export const randomToken = (bytes: number) => randomBytes(bytes).toString('base64url');
