import { execSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isAlive as alive, freePort, spawnGuarded, startNats } from '../src/index';

describe('local infrastructure', () => {
  it('infra - free ports lie below the ephemeral range, which outgoing connections take theirs from, and are not handed out twice', async () => {
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) expect(port).toBeLessThan(ephemeralLow);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], resolve)); // on every interface, as services listen
    await new Promise((resolve) => server.close(resolve));
  });

  it('infra - a server started by a process that is SIGKILLed is stopped and its data removed', async () => {
    const script = `
      import { startNats } from ${JSON.stringify(path.resolve(__dirname, '../src/index.ts'))};
      const nats = await startNats();
      const { execSync } = await import('node:child_process');
      const pid = execSync('pgrep -f -- "-sd ' + nats.dataDir + '"').toString().trim().split('\\n')[0];
      console.log(JSON.stringify({ pid: Number(pid), dataDir: nats.dataDir }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    const { pid, dataDir } = JSON.parse(line) as { pid: number; dataDir: string };
    expect(alive(pid)).toBe(true);

    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while ((alive(pid) || existsSync(dataDir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('infra - a guarded process that crashes is seen to exit with its own status', async () => {
    const child = spawnGuarded(process.execPath, ['-e', 'setTimeout(() => process.exit(3), 10)'], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(3);
  });

  it('infra - a restarted NATS server keeps its port and JetStream data', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    await jetstream(nc).publish('keep.one', 'x');

    await nats.restart();
    // The same client reconnects to the same port and finds the stream with its message.
    let messages: number | undefined;
    for (let i = 0; i < 20 && messages === undefined; i++) {
      messages = await jsm.streams.info('KEEP', { timeout: 1000 } as never).then(
        (info) => info.state.messages,
        () => undefined,
      );
    }
    expect(messages).toBe(1);

    await nc.close();
    await nats.stop();
    expect(existsSync(nats.dataDir)).toBe(false);
  });

  it('infra - a server that does not stop when asked is killed before its restart: one server runs on its data', async () => {
    const nats = await startNats();
    // nats-server processes on its data (not the guard, whose command line names it too).
    const servers = () =>
      execSync('ps -eo pid=,comm=,args=')
        .toString()
        .split('\n')
        .filter((line) => / nats-server /.test(line) && line.includes(`-sd ${nats.dataDir}`))
        .map((line) => line.trim().split(/\s+/)[0]);
    const [first] = servers();
    // Paused, it cannot act on SIGTERM: as a server busy finishing its own shutdown, only slower.
    nats.signal('SIGSTOP');
    await nats.restart();
    // The paused one is gone (at most a zombie, which ps lists without its arguments); the new one runs alone.
    const after = servers();
    expect(after).toHaveLength(1);
    expect(after).not.toContain(first);
    const nc = await connect({ servers: nats.url });
    await nc.flush();
    await nc.close();
    await nats.stop();
    expect(servers()).toEqual([]);
  }, 30_000);
});
