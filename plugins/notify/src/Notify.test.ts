import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

/** Runs the real CLI without blocking, so that the loopback server in this process can answer it. */
async function cli(args: string[]) {
  const child = spawn(BINARY, args, { env: { ...process.env, RAST_BACKUP_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [status] = (await once(child, 'close')) as [number];
  return { status, stdout, stderr };
}

/** A loopback HTTP server that records each request and answers with the next status of `statuses` (then 200). */
async function webhookServer(statuses: number[] = []) {
  const requests: Array<{ body: any; headers: IncomingMessage['headers'] }> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push({ body: JSON.parse(body), headers: request.headers });
      response.statusCode = statuses.shift() ?? 200;
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, requests, close: () => server.close() };
}

/** A command notifier: a Node script that appends its RAST_BACKUP_* environment and its stdin to a file. */
async function recorderScript(home: string, exitCode = 0) {
  const script = path.join(home, `recorder-${exitCode}.mjs`);
  const output = path.join(home, `recorded-${exitCode}.jsonl`);
  await writeFile(
    script,
    `import { appendFileSync, readFileSync } from 'node:fs';
const environment = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('RAST_BACKUP_')));
appendFileSync(${JSON.stringify(output)}, JSON.stringify({ environment, stdin: JSON.parse(readFileSync(0, 'utf8')) }) + '\\n');
if (${exitCode}) { process.stderr.write('mail server says no\\n'); process.exit(${exitCode}); }
`,
  );
  const recorded = async () =>
    (await readFile(output, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  return { command: [process.execPath, script], recorded };
}

async function setup(notify: string) {
  const home = await temporaryDirectory();
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n\n${notify}\n`);
  const source = path.join(home, 'source');
  await mkdir(source);
  await writeFile(path.join(source, 'file'), 'content\n');
  return { home, config, source };
}

// ---

const delivery = suite('notify: delivery to a webhook and a command');

delivery('create succeeded and failed reach both; the webhook is retried after a 503', async () => {
  const server = await webhookServer([503]);
  const home = await temporaryDirectory();
  const recorder = await recorderScript(home);
  const { config, source } = await setup(
    `[notify]\non = ["success", "failure"]\n\n[[notify.webhook]]\nurl = "${server.url}"\nretry_delay_seconds = 0.01\nheaders = { Authorization = "Bearer secret" }\n\n[[notify.command]]\ncommand = ${JSON.stringify(recorder.command)}\n`,
  );
  try {
    const created = await cli(['create', source, '--name', 'Daily Backup', '--tag', 'daily', '--json', '--config', config]);
    assert.is(created.status, 0, created.stderr);
    const manifest = JSON.parse(created.stdout);
    assert.is(server.requests.length, 2, 'one 503, then delivered');
    const { body, headers } = server.requests[1]!;
    assert.is(headers.authorization, 'Bearer secret');
    assert.is(headers['content-type'], 'application/json');
    assert.equal(
      [body.event, body.operation, body.outcome, body.path, body.error],
      ['create.succeeded', 'create', 'succeeded', source, null],
    );
    assert.equal(body.backup, {
      id: manifest.id,
      name: 'Daily Backup',
      tags: ['daily'],
      parent: null,
      size: manifest.size,
      storedSize: manifest.storedSize,
    });
    assert.type(body.host, 'string');
    assert.ok(body.durationSeconds >= 0 && Date.parse(body.finishedAt) >= Date.parse(body.startedAt));

    const [first] = await recorder.recorded();
    assert.equal(first.stdin, { ...body, finishedAt: first.stdin.finishedAt, durationSeconds: first.stdin.durationSeconds });
    assert.equal(
      [
        first.environment.RAST_BACKUP_EVENT,
        first.environment.RAST_BACKUP_OUTCOME,
        first.environment.RAST_BACKUP_BACKUP_ID,
        first.environment.RAST_BACKUP_BACKUP_NAME,
      ],
      ['create.succeeded', 'succeeded', manifest.id, 'Daily Backup'],
    );

    const failed = await cli(['create', path.join(source, 'missing'), '--tag', 'daily', '--config', config]);
    assert.is(failed.status, 1, 'the operation still fails for its own reason');
    const failure = server.requests.at(-1)!.body;
    assert.equal([failure.event, failure.error.code, failure.backup.tags], ['create.failed', 'RB008', ['daily']]);
    assert.match(failure.error.message, /missing does not exist/);
    assert.is((await recorder.recorded()).at(-1).environment.RAST_BACKUP_ERROR, failure.error.message);

    assert.is((await cli(['verify', 'latest', '--config', config])).status, 0);
    assert.equal([server.requests.at(-1)!.body.event, server.requests.at(-1)!.body.details.ok], ['verify.succeeded', true]);
    assert.is((await cli(['list', '--config', config])).status, 0);
    assert.is(server.requests.at(-1)!.body.event, 'verify.succeeded', 'list sends nothing');
  } finally {
    server.close();
  }
});

delivery('on = ["failure"] (the default) sends nothing for a success', async () => {
  const server = await webhookServer();
  const { config, source } = await setup(`[notify]\n\n[[notify.webhook]]\nurl = "${server.url}"\n`);
  try {
    assert.is((await cli(['create', source, '--config', config])).status, 0);
    assert.is(server.requests.length, 0);
    assert.is((await cli(['create', path.join(source, 'missing'), '--config', config])).status, 1);
    assert.equal(
      server.requests.map((request) => request.body.event),
      ['create.failed'],
    );
  } finally {
    server.close();
  }
});

delivery('rast-backup notify --unit sends unit.failed (for systemd OnFailure=)', async () => {
  const server = await webhookServer();
  const { config } = await setup(`[notify]\n\n[[notify.webhook]]\nurl = "${server.url}"\n`);
  try {
    const result = await cli(['notify', '--unit', 'rast-backup-daily.service', '--config', config]);
    assert.is(result.status, 0, result.stderr);
    const body = server.requests[0]!.body;
    assert.equal([body.event, body.path], ['unit.failed', 'rast-backup-daily.service']);
    assert.match(body.error.message, /journalctl -u rast-backup-daily\.service/);
  } finally {
    server.close();
  }
});

delivery.run();

// ---

const failing = suite('notify: a failing notifier never fails the backup');

failing('an unreachable webhook, a silent one and a failing command are warnings naming each; create exits 0', async () => {
  const silent = createServer(() => {}); // accepts, never answers
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const closed = await webhookServer();
  closed.close();
  const home = await temporaryDirectory();
  const recorder = await recorderScript(home, 3);
  const { config, source } = await setup(
    `[notify]\non = ["success"]\n\n[[notify.webhook]]\nurl = "${closed.url}"\nretries = 1\nretry_delay_seconds = 0.01\n\n` +
      `[[notify.webhook]]\nurl = "http://127.0.0.1:${(silent.address() as AddressInfo).port}/slow"\ntimeout_seconds = 0.3\nretries = 0\n\n` +
      `[[notify.command]]\ncommand = ${JSON.stringify(recorder.command)}\n`,
  );
  try {
    const started = Date.now();
    const result = await cli(['create', source, '--json', '--config', config]);
    assert.is(result.status, 0, result.stderr);
    assert.ok(JSON.parse(result.stdout).id);
    assert.ok(Date.now() - started < 10_000);
    assert.match(result.stderr, /warning: create: lifecycle hook failed: .*notification create\.succeeded not delivered/);
    assert.match(result.stderr, new RegExp(`webhook ${closed.url.replace(/[.]/g, '\\.')}: .*\\(after 2 attempts\\)`));
    assert.match(result.stderr, /webhook http:\/\/127\.0\.0\.1:\d+\/slow: no answer within 0\.3 s/);
    assert.match(result.stderr, /command .*node.*: exit 3: mail server says no/);
    assert.is((await recorder.recorded()).length, 1);
    assert.is((await cli(['list', '--config', config])).status, 0);
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
});

failing('a bad [notify] table is a config error naming the key', async () => {
  const { config } = await setup(`[notify]\non = ["sometimes"]\n`);
  const result = await cli(['list', '--config', config]);
  assert.is(result.status, 2);
  assert.match(result.stderr, /notify\.on/);
});

failing.run();
