import { availabilityService } from './service';

await availabilityService.run();
