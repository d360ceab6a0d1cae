import { startSupplierSim } from './simulator';

const sim = await startSupplierSim(Number(process.env.PORT ?? 8090));
console.log(`supplier-sim listening on http://127.0.0.1:${sim.port}`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
