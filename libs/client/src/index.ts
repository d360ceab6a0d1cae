export { type AllotClient, type ClientOptions, type Credential, createAllotClient } from './client.js';
export type { components, operations, paths } from './generated/api.js';
export { type EventStream, type StreamEvent, type StreamOptions, type StreamStatus, streamEvents } from './stream.js';
export type { Booking, CapacityCheck, Notification, NotificationPage, Problem, QueueEntry, Session } from './types.js';
