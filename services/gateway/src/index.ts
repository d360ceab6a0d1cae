export { openApiDocument } from './http/openapi-document';
export { startGateway } from './service';
