/**
 * The MongoDB side of least privilege: each service its own user with `readWrite` on its own
 * database only. One mongosh script, run by compose's and Kubernetes' `mongo-init` as the root
 * user once the replica set has a primary: for every `MONGO_PASSWORD_<service>` in its
 * environment it creates user `<service>` (or sets its password and roles again, so rotating a
 * password is running the init again).
 */
export const passwordPrefix = 'MONGO_PASSWORD_';

export const mongoUsersScript = [
  `for (const [key, pwd] of Object.entries(process.env)) {`,
  `  if (!key.startsWith('${passwordPrefix}')) continue;`,
  `  const user = key.slice(${passwordPrefix.length});`,
  `  const roles = [{ role: 'readWrite', db: user }];`,
  `  const admin = db.getSiblingDB('admin');`,
  `  if (admin.getUser(user)) admin.updateUser(user, { pwd, roles }); else admin.createUser({ user, pwd, roles });`,
  `  print('mongo-init: user ' + user + ' may read and write database ' + user);`,
  `}`,
].join(' ');

/** A service's connection string as its own user (authenticated against `admin`, where the users live). */
export const serviceMongoUrl = (service: string, password: string, hosts: string) =>
  `mongodb://${service}:${password}@${hosts}/?replicaSet=rs0&authSource=admin&w=majority`;
