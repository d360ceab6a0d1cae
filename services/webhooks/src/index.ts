export { startWebhooks } from './service';
