import { describe, expect, it } from 'vitest';
import { Heartbeats } from '../src/sse/heartbeats';
import { eventually } from './harness';

/** A stream that counts its heartbeats. */
const counter = () => ({
  beats: 0,
  heartbeat() {
    this.beats++;
  },
});

describe('SSE heartbeats', () => {
  it('sse - one timer gives every open stream its heartbeats and none to a stream that closed', async () => {
    const heartbeats = new Heartbeats<ReturnType<typeof counter>>(100);
    const streams = Array.from({ length: 25 }, counter);
    for (const s of streams) heartbeats.add(s);
    await eventually(() => streams.every((s) => s.beats >= 2));

    const closed = streams[3] as ReturnType<typeof counter>;
    heartbeats.delete(closed);
    const atClose = closed.beats;
    const open = streams.filter((s) => s !== closed);
    const before = open.map((s) => s.beats);
    // Two more heartbeats for every open stream: a full interval went by for each group.
    await eventually(() => open.every((s, i) => s.beats >= (before[i] as number) + 2));
    expect(closed.beats).toBe(atClose);

    for (const s of streams) heartbeats.delete(s);
    heartbeats.delete(closed); // stopping twice changes nothing
    const last = streams.map((s) => s.beats);
    heartbeats.add(closed); // the timer starts again for a new stream, alone
    await eventually(() => closed.beats >= atClose + 2);
    expect(streams.filter((s) => s !== closed).map((s) => s.beats)).toEqual(last.filter((_, i) => i !== 3));
  });
});
