export { startCapacity } from './service';
