import type { Actor } from '@allot/contracts';

/** Who made a request, as established by the auth middleware. */
export type Credential =
  | { kind: 'root'; id: 'root'; tenantId: null }
  | { kind: 'apiKey'; id: string; tenantId: string; keyId: string }
  | { kind: 'user'; id: string; tenantId: string; userId: string; apiKeyId: string; expiresAt: number };

export type CredentialKind = Credential['kind'];

/** The API key a tenant credential stands on: revoking it ends the credential. */
export const issuingKeyOf = (credential: Credential): string | undefined =>
  credential.kind === 'apiKey' ? credential.keyId : credential.kind === 'user' ? credential.apiKeyId : undefined;

/** The actor an RPC carries for a credential. */
export function actorOf(credential: Credential): Actor {
  switch (credential.kind) {
    case 'root':
      return { kind: 'root' };
    case 'apiKey':
      return { kind: 'apiKey', keyId: credential.keyId };
    case 'user':
      return { kind: 'user', userId: credential.userId };
  }
}
