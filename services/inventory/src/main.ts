import { inventoryService } from './service';

await inventoryService.run();
