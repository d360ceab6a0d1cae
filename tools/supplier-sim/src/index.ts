export { startSupplierSim } from './simulator';
