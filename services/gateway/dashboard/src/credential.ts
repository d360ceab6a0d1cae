/**
 * Who is signed in. A tenant API key (`allot_…`) sees the whole tenant: every booking, the admins'
 * notifications, the `bookings` channel. A user token (a JWT minted with
 * `POST /v1/auth/user-tokens`) sees and changes only its user's own bookings and notifications.
 */
export type SignedIn = { kind: 'apiKey'; secret: string; label: string } | { kind: 'user'; secret: string; label: string; userId: string };

const STORAGE_KEY = 'allot.credential';

export function recognise(secret: string): SignedIn | string {
  const value = secret.trim();
  if (/^allot_[A-Za-z0-9_-]{16}_[A-Za-z0-9_-]{43}$/.test(value))
    return { kind: 'apiKey', secret: value, label: `API key ${value.slice(6, 14)}…` };
  const claims = jwtClaims(value);
  if (claims && typeof claims.sub === 'string') {
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return 'This user token has expired: mint a new one.';
    return { kind: 'user', secret: value, label: `user ${claims.sub}`, userId: claims.sub };
  }
  if (value.startsWith('root_') || value.length > 0)
    return 'Use a tenant API key (allot_…) or a user token. The root key only creates tenants.';
  return 'Paste an API key or a user token.';
}

/** Reads a JWT's claims without verifying them: the gateway verifies; the page only needs the user id. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return undefined;
  }
}

/** Kept for the browser tab only (sessionStorage), so closing the tab signs out. */
export const remembered = (): SignedIn | undefined => {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  const signedIn = stored ? recognise(stored) : undefined;
  return typeof signedIn === 'object' ? signedIn : undefined;
};
export const remember = (signedIn: SignedIn) => sessionStorage.setItem(STORAGE_KEY, signedIn.secret);
export const forget = () => sessionStorage.removeItem(STORAGE_KEY);
