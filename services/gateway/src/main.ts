import { gatewayService } from './service';

await gatewayService.run();
