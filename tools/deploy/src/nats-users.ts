/**
 * Reads the NATS users back out of a configuration rendered by `natsAuthorization`
 * (@allot/contracts), for `make test`'s check that no user is granted more than its list.
 */

export interface GrantedUser {
  user: string;
  publish: string[];
  subscribe: string[];
  /** Anything else the user's entry says (deny lists, other response settings, …). */
  other: string[];
}

/** What each user is granted, and whatever its entry holds that `natsAuthorization` would not write. */
export function grantedUsers(config: string): GrantedUser[] {
  const users: GrantedUser[] = [];
  let current: GrantedUser | undefined;
  let into: 'publish' | 'subscribe' | undefined;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    const user = /^user: ([A-Za-z0-9_-]+)$/.exec(line);
    if (user) {
      current = { user: user[1] as string, publish: [], subscribe: [], other: [] };
      users.push(current);
      into = undefined;
      continue;
    }
    if (!current) continue;
    const opens = /^(publish|subscribe): \{ allow: \[$/.exec(line);
    if (opens) {
      into = opens[1] as 'publish' | 'subscribe';
      continue;
    }
    if (line === '] }') {
      into = undefined;
      continue;
    }
    if (into) {
      current[into].push(JSON.parse(line) as string);
      continue;
    }
    if (line && !/^(\{|\}|\]|permissions: \{|password: \$NATS_PASSWORD_[A-Za-z0-9_-]+|allow_responses: true)$/.test(line))
      current.other.push(line);
  }
  return users;
}
