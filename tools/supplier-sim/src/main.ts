import { startSupplierSim } from './simulator';

// `POST /_callbacks` signs with the gateway's SUPPLIER_WEBHOOK_SECRET and sends to GATEWAY_URL.
const { GATEWAY_URL: url, SUPPLIER_WEBHOOK_SECRET: secret } = process.env;
const target = url && secret ? { url, secret } : undefined;
const sim = await startSupplierSim(Number(process.env.PORT ?? 8090), { callbackTarget: () => target });
console.log(`supplier-sim listening on http://127.0.0.1:${sim.port}`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
