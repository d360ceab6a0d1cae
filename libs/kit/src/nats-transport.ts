import { type ConnectionOptions, type NatsConnection, NatsConnectionImpl, setTransportFactory } from '@nats-io/transport-node';
// Not in the package's public names, but the package has no exports map and this is the class
// its own `connect` uses; pinned by the lockfile, and the test of this module runs it.
import { NodeTransport, nodeResolveHost } from '@nats-io/transport-node/lib/node_transport.js';

/**
 * nats.js writes its outbound buffer to the socket in a microtask after each command, and every
 * HTTP request or delivered message runs in its own I/O callback: one `write` system call per
 * request. On this kind of machine that call was the largest single cost of a gateway request
 * (a fifth of its CPU, in the bare Hono → NATS peer too). This transport holds what the
 * protocol hands it until the I/O callbacks of the current loop turn have run
 * (`setImmediate`), then writes it at once: under load one write carries many requests; alone,
 * a request waits for the end of its own turn, microseconds.
 *
 * Anything held is written before the socket is closed, as the library's own flush would.
 */
class CoalescingTransport extends NodeTransport {
  private held: Uint8Array[] = [];

  override send(frame: Uint8Array): void {
    if (this.held.push(frame) === 1) setImmediate(() => this.writeHeld());
  }

  override close(err?: Error): Promise<void> {
    this.writeHeld();
    return super.close(err);
  }

  override disconnect(): void {
    this.writeHeld();
    super.disconnect();
  }

  override discard(): void {
    this.held = [];
    super.discard();
  }

  private writeHeld(): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    super.send(held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held));
  }
}

/** `connect` of `@nats-io/transport-node`, with the coalescing transport. */
export function connectCoalescing(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({
    factory: () => new CoalescingTransport(),
    dnsResolveFn: nodeResolveHost,
  });
  return NatsConnectionImpl.connect(options);
}
