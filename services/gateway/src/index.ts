export { startGateway } from './service';
