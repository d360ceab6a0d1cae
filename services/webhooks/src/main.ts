import { webhooksService } from './service';

await webhooksService.run();
