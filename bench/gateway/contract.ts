/** The trivial RPC the throughput benchmark calls through the gateway: echoes a small object, validated both ways. */
import { ping, rpc } from '@allot/contracts';

export const benchEcho = rpc('Benchmark echo: answers its input', ping.output, ping.output);
export const BENCH_ECHO = 'bench-echo';
