// The gateway's public surface: start it (`extend` adds routes to the app before it listens),
// guard an added route by credential, and build its OpenAPI document without a server.
export { requireCredential } from './http/auth';
export { openApiDocument } from './openapi-document';
export { startGateway } from './service';
