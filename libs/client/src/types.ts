import type { components, paths } from './generated/api.js';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** Resources by name, taken from the responses of the routes that return them. */
export type Session = Json<paths['/v1/sessions/{id}']['get']['responses'][200]>;
export type Booking = Json<paths['/v1/bookings/{id}']['get']['responses'][200]>;
export type CapacityCheck = Json<paths['/v1/capacity/check']['get']['responses'][200]>;
export type QueueEntry = Json<paths['/v1/queue/{id}']['get']['responses'][200]>;
export type NotificationPage = Json<paths['/v1/notifications']['get']['responses'][200]>;
export type Notification = NotificationPage['items'][number];
export type Problem = components['schemas']['Problem'];
