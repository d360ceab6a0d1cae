export { startAvailability } from './service';
