/** A bare Hono "hello" server: the HTTP ceiling of this machine for our stack. Prints its port. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono().get('/', (c) => c.text('hello'));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(info.port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
