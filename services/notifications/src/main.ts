import { notificationsService } from './service';

await notificationsService.run();
