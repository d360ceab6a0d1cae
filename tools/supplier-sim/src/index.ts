export { type CallbackTarget, type SignedCallback, sendCallback, signCallback } from './callbacks';
export { type SupplierSimOptions, startSupplierSim } from './simulator';
