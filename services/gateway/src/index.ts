// The gateway's public surface: start it (`extend` adds routes to the app before it listens),
// guard an added route by credential (or add routes that are each one RPC, as the built-in ones
// are), and build its OpenAPI document without a server.
export { requireCredential } from './http/auth';
export { registerRpcRoutes, rpcRoute } from './http/rpc-route';
export { openApiDocument } from './openapi-document';
export { startGateway } from './service';
export { userKey } from './sse/client-messages';
