export { type Received, startWebhookReceiver, type WebhookReceiver } from './receiver';
