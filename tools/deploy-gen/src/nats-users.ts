/**
 * Reads the NATS users back out of a configuration rendered by `natsAuthorization`
 * (@allot/contracts), for `make test`'s check that no user is granted more than its list.
 */

export interface GrantedUser {
  user: string;
  publish: string[];
  publishDeny: string[];
  subscribe: string[];
  subscribeDeny: string[];
  /** Anything else the user's entry says (other response settings, unknown keys, …). */
  other: string[];
}

type List = 'publish' | 'publishDeny' | 'subscribe' | 'subscribeDeny';

/** What each user is granted, and whatever its entry holds that `natsAuthorization` would not write. */
export function grantedUsers(config: string): GrantedUser[] {
  const users: GrantedUser[] = [];
  let current: GrantedUser | undefined;
  let section: 'publish' | 'subscribe' | undefined;
  let into: List | undefined;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    const user = /^user: ([A-Za-z0-9_-]+)$/.exec(line);
    if (user) {
      current = { user: user[1] as string, publish: [], publishDeny: [], subscribe: [], subscribeDeny: [], other: [] };
      users.push(current);
      section = into = undefined;
      continue;
    }
    if (!current) continue;
    if (into) {
      if (line === ']') into = undefined;
      else current[into].push(JSON.parse(line) as string);
      continue;
    }
    const opens = /^(publish|subscribe): \{$/.exec(line);
    if (opens) {
      section = opens[1] as 'publish' | 'subscribe';
      continue;
    }
    const list = /^(allow|deny): \[$/.exec(line);
    if (list && section) {
      into = list[1] === 'allow' ? section : `${section}Deny`;
      continue;
    }
    if (line === '}' && section) {
      section = undefined;
      continue;
    }
    if (line && !/^(\{|\}|\]|permissions: \{|password: \$NATS_PASSWORD_[A-Za-z0-9_-]+|allow_responses: true)$/.test(line))
      current.other.push(line);
  }
  return users;
}
