export { type AllotClient, type ClientOptions, type Credential, createAllotClient } from './client';
export type { components, paths } from './generated/api';
export { type EventStream, type StreamEvent, type StreamOptions, type StreamStatus, streamEvents } from './stream';
export type { Booking, CapacityCheck, Notification, NotificationPage, Problem, QueueEntry, Session } from './types';
