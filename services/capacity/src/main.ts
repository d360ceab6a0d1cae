import { capacityService } from './service';

await capacityService.run();
