/**
 * Work a service runs beside its handlers for as long as it runs (a live feed, a catch-up after
 * a gap in the events it follows), declared in `defineService`'s `background` hook.
 */
export interface BackgroundWork {
  /** Names the work in logs and, when it reports readiness, in `/readyz`. */
  name: string;
  /** Starts it, once the context is built and before `serve`; what it returns stops it. */
  start(): Promise<RunningWork> | RunningWork;
}

export interface RunningWork {
  /** `/readyz` answers 503 until this is true (a read model still catching up); absent, it never holds the service back. */
  ready?(): Promise<boolean>;
  /** Stops it: after what `serve` started has closed, before NATS and MongoDB are. */
  stop(): Promise<void>;
}
