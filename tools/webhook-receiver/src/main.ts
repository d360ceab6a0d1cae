import { startWebhookReceiver } from './receiver';

// `make dev` runs it (WEBHOOK_RECEIVER_PORT, default 8091); the demo tenant's endpoint points at /hooks/accept.
const receiver = await startWebhookReceiver(Number(process.env.PORT ?? 8091), { log: (line) => console.log(`webhook ${line}`) });
console.log(`webhook-receiver listening on ${receiver.url}`);
const stop = () => void receiver.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
