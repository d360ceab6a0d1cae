/**
 * Peer, Allot, peer again: the order both peer-comparison benchmarks measure in, and the parts of
 * their reports that say the same thing (the comparison table, verdicts, CPU and database lines).
 */
import { versions } from '../gateway/common';
import { type ChildLogs, childLogLine, logLevel } from './children';
import { cpuLine } from './cpu';
import { type LoadShape, type Measured, perOpLine, round, type Scenario } from './drive';
import { machineInfo } from './measure';
import type { Target } from './targets';

export const shapeFromEnv = (): LoadShape => ({
  clients: 50,
  seconds: Number(process.env.BENCH_SECONDS ?? 5),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 1),
});

/** Starts a target, runs `fn` on it and stops it, on failure too; adds what its processes logged. */
export async function withTarget<T extends Target, R>(start: () => Promise<T>, fn: (t: T) => Promise<R>): Promise<R & { log: ChildLogs }> {
  const t = await start();
  try {
    const result = await fn(t);
    // Stopped before reporting, so what the processes log while stopping is in the report too.
    return { ...result, log: await t.stop() };
  } catch (error) {
    await t.stop();
    throw error;
  }
}

export interface Run {
  hot: Measured;
  spread: Measured;
  log: ChildLogs;
}

/** Each system stopped before the next starts, so neither competes with the other for the cores. */
export async function peerAllotPeer<P extends Run, A extends Run>(peer: () => Promise<P>, allot: () => Promise<A>) {
  const peerBefore = await peer();
  const allotRun = await allot();
  const peerAfter = await peer();
  return { peerBefore, allot: allotRun, peerAfter };
}

export interface Runs<P extends Run = Run, A extends Run = Run> {
  peerBefore: P;
  allot: A;
  peerAfter: P;
}

/**
 * Allot against the peer measured before and after it. The reference is the mean of the two
 * peer runs: the machine is shared, and measuring the peer on both sides of Allot spreads any
 * drift in what else runs here over both systems.
 */
export interface VersusPeer {
  peerRuns: [number, number];
  peerReference: number;
  allot: number;
  ratio: number;
}

const scenarioOf = (r: Runs, s: 'hot' | 'spread') => ({
  peerBefore: r.peerBefore[s].result,
  allot: r.allot[s].result,
  peerAfter: r.peerAfter[s].result,
});

export function versusPeer(r: Runs, s: 'hot' | 'spread'): VersusPeer {
  const { peerBefore, allot, peerAfter } = scenarioOf(r, s);
  const peerReference = round((peerBefore.okPerSecond + peerAfter.okPerSecond) / 2);
  return {
    peerRuns: [peerBefore.okPerSecond, peerAfter.okPerSecond],
    peerReference,
    allot: allot.okPerSecond,
    ratio: round(allot.okPerSecond / Math.max(peerReference, 1e-9), 3),
  };
}

export interface Verdict {
  met: boolean;
  text: string;
}

/** MET only if the ratio (and p99, when a bound is given) meets the target and every request succeeded. */
export function verdictOf(r: Runs, s: 'hot' | 'spread', what: string, unit: string, target: { ratio: number; p99Ms?: number }): Verdict {
  const v = versusPeer(r, s);
  const allot = r.allot[s].result;
  const met = v.ratio >= target.ratio && (target.p99Ms === undefined || allot.p99Ms < target.p99Ms) && allot.clean;
  const p99 = target.p99Ms === undefined ? '' : `; p99 ${allot.p99Ms} ms, target < ${target.p99Ms} ms`;
  const dirty = allot.clean ? '' : `; not every request succeeded: ${JSON.stringify(allot.outcomes)}`;
  return {
    met,
    text: `${met ? 'MET' : 'NOT MET'}: ${what} ${v.allot} ${unit}/s = ${v.ratio} × the peer (${v.peerReference}/s, mean of ${v.peerRuns[0]} and ${v.peerRuns[1]}); target ≥ ${target.ratio}${p99}${dirty}`,
  };
}

const layout =
  'load generator (50 closed-loop fetch clients, Node built-in undici keep-alive) in the benchmark process. Peer: bench/peer/main.ts in one child process on its own FerretDB (SQLite). Allot: supplier simulator, capacity, inventory, availability, notifications and gateway (their real main.ts, as `make dev` starts them) in one child process each, on the run’s own nats-server and FerretDB (SQLite)';

/** What every report's JSON starts with. */
export function reportBase(shape: LoadShape) {
  return {
    measuredAt: new Date().toISOString(),
    ...shape,
    childLogLevel: logLevel,
    machine: machineInfo(),
    versions: versions(),
    layout,
    order: ['peer', 'allot', 'peer'],
    peerReference: 'mean of the two peer runs',
  };
}

/**
 * The report's opening: when, where, how; `peer` says what the peer does per request, `what` what
 * is sent and counted. Then the table of the three runs of each scenario with Allot's ratio.
 */
export function reportHead(
  base: ReturnType<typeof reportBase>,
  r: Runs,
  text: { title: string; workload: string; peer: string; unit: string; hot: string; spread: string },
  targets: { hot: { ratio: number; p99Ms?: number }; spread: { ratio: number; p99Ms?: number } },
): string[] {
  const m = base.machine;
  const v = base.versions;
  const goal = (t: { ratio: number; p99Ms?: number }) => `≥ ${t.ratio}${t.p99Ms === undefined ? '' : `, p99 < ${t.p99Ms} ms`}`;
  const rows = (what: string, s: 'hot' | 'spread') => {
    const runs = scenarioOf(r, s);
    const row = (who: string, x: Scenario, ratio: string, target: string) =>
      `| ${what} | ${who} | ${x.okPerSecond} | ${x.p50Ms} | ${x.p99Ms} | ${x.requests} | ${x.requests - x.ok} | ${ratio} | ${target} |`;
    return [
      row('peer, run 1', runs.peerBefore, '—', '—'),
      row('**Allot**', runs.allot, `**${versusPeer(r, s).ratio}**`, goal(targets[s])),
      row('peer, run 2', runs.peerAfter, '—', '—'),
    ];
  };
  const outcomes = (s: 'hot' | 'spread') => {
    const runs = scenarioOf(r, s);
    return `${s}: peer ${JSON.stringify(runs.peerBefore.outcomes)} / ${JSON.stringify(runs.peerAfter.outcomes)}, Allot ${JSON.stringify(runs.allot.outcomes)}`;
  };
  return [
    `# ${text.title}`,
    '',
    `Measured ${base.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). ${base.seconds} s per figure, each after a ${base.warmupSeconds} s warm-up on the same keys; children log at ${base.childLogLevel}.`,
    `Layout: ${layout}. ${text.workload}`,
    '',
    `The **peer** is \`bench/peer/main.ts\`: the naive monolith a team would write in an afternoon — one Hono process and the \`mongodb\` driver; ${text.peer}`,
    'The same load drives the peer, then Allot, then the peer again (each system stopped before the next starts); every Allot figure',
    'is a ratio to the **mean of the two peer runs**, both shown. Each client waits for its answer before sending the next request, so',
    'every request is answered and counted; the latency columns cover every request.',
    '',
    `| scenario | system | ${text.unit}/s | p50 ms | p99 ms | requests | not counted | ratio to peer (mean of its 2 runs) | target |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows(text.hot, 'hot'),
    ...rows(text.spread, 'spread'),
    '',
    `Outcomes — ${outcomes('hot')}; ${outcomes('spread')}.`,
    '',
  ];
}

/** CPU by process and database commands per counted request, for every run of both scenarios. */
export function reportProcesses(r: Runs, unit: string): string[] {
  const perRun = (what: string, line: (x: Measured) => string) =>
    (['hot', 'spread'] as const).flatMap((s) => [
      `- ${s}, ${what}: peer run 1 — ${line(r.peerBefore[s])}`,
      `- ${s}, ${what}: **Allot** — ${line(r.allot[s])}`,
      `- ${s}, ${what}: peer run 2 — ${line(r.peerAfter[s])}`,
    ]);
  const settled = (x: Measured) => (x.settled.quiet ? `${x.settled.seconds} s` : `not within ${x.settled.seconds} s`);
  return [
    'CPU (% of one core by process; "everything else" is what other programs on this machine used meanwhile):',
    ...perRun('CPU', (x) => cpuLine(x.cpu)),
    '',
    `Database commands per ${unit} (FerretDB \`serverStatus\` counters: every client of that system’s database — for Allot all its services):`,
    ...perRun('commands', (x) => perOpLine(x.dbCommandsPerOk)),
    '',
    `After the load, Allot’s processes were idle again after: hot ${settled(r.allot.hot)}, spread ${settled(r.allot.spread)}.`,
    '',
  ];
}

export const reportLogs = (r: Runs) =>
  `Logs at warn or above — peer run 1: ${childLogLine(r.peerBefore.log)}; Allot: ${childLogLine(r.allot.log)}; peer run 2: ${childLogLine(r.peerAfter.log)}.`;

export const logsByRun = (r: Runs) => ({ peerBefore: r.peerBefore.log, allot: r.allot.log, peerAfter: r.peerAfter.log });
