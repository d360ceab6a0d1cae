export { startInventory } from './service';
