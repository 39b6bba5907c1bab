#!/usr/bin/env node
// Interop check: a stock gRPC client (@grpc/grpc-js + @grpc/proto-loader, reading the same .proto) talks to an
// FTTE federation server. Usage:
//
//   node client.js <host:port> <enrolment secret> [root-cert.pem]
//
// With a certificate the channel uses TLS trusting only that certificate (e.g. one from `ftte certs dev`);
// without, plain HTTP/2 (h2c). Prints one JSON summary on stdout; exits 0 when every call behaved as expected,
// 1 on any unexpected outcome (the summary then says which step failed and why), 2 on bad arguments.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, secret, rootCertPath] = process.argv.slice(2);
if (!address || !secret) {
  process.stderr.write('usage: node client.js <host:port> <enrolment secret> [root-cert.pem]\n');
  process.exit(2);
}

const protoRoot = path.resolve(__dirname, '..', '..', 'src', 'Ftte.Protocol', 'Protos');
const definition = protoLoader.loadSync(path.join('ftte', 'v1', 'federation.proto'), {
  includeDirs: [protoRoot],
  keepCase: true,   // field names as in the .proto (snake_case)
  longs: String,    // int64 as decimal strings: no precision lost
  enums: String,
  defaults: true,
  oneofs: true,     // the oneof's name tells which field is set
});
const ftte = grpc.loadPackageDefinition(definition).ftte.v1;
const credentials = rootCertPath
  ? grpc.credentials.createSsl(fs.readFileSync(rootCertPath))
  : grpc.credentials.createInsecure();
const client = new ftte.Federation(address, credentials);

const CALL_SECONDS = 15;
const summary = { address, tls: Boolean(rootCertPath), ok: false, steps: {} };

function bearer(token) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function call(method, request, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + CALL_SECONDS * 1000);
    client[method](request, metadata, { deadline }, (error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function step(name, body) {
  try {
    summary.steps[name] = await body();
  } catch (error) {
    summary.failed = name;
    summary.error = error.code !== undefined
      ? { code: error.code, status: grpc.status[error.code], details: error.details }
      : { message: error.message };
    throw error;
  }
}

async function main() {
  await step('status', async () => {
    const status = await call('GetStatus', {});
    expect(/^[0-9a-f]{16}$/.test(status.run_id), `run_id '${status.run_id}' is not 16 hex digits`);
    expect(status.strategy.length > 0, 'strategy is empty');
    return { run_id: status.run_id, strategy: status.strategy, version: status.version, devices_enrolled: status.devices_enrolled };
  });

  let token;
  await step('enrol', async () => {
    const reply = await call('Enrol', {
      secret,
      device_name: `node-interop-${process.pid}`,
      capabilities: {
        memory_bytes: String(1 << 30),
        flops_per_second: 1e9,
        downlink_bits_per_second: 1e8,
        uplink_bits_per_second: 1e8,
        latency_seconds: 0.01,
        train_samples: 200,
        tier: 'node',
      },
    });
    expect(reply.token.length >= 32, 'token is too short');
    expect(reply.run_id === summary.steps.status.run_id, 'run_id differs from GetStatus');
    token = reply.token;
    return {
      device_id: reply.device_id,
      token_length: reply.token.length,
      chunk_bytes: reply.chunk_bytes,
      max_update_bytes: reply.max_update_bytes,
      model: { spec: reply.model.spec, input_shape: reply.model.input_shape, classes: reply.model.classes, parameter_count: reply.model.parameter_count, dataset: reply.model.dataset },
    };
  });

  let taskId = '0';
  await step('get_task', async () => {
    const reply = await call('GetTask', { wait_seconds: 5 }, bearer(token));
    expect(reply.outcome === 'task' || reply.outcome === 'wait', `outcome '${reply.outcome}'`);
    if (reply.outcome === 'wait') return { outcome: 'wait', reason: reply.wait.reason, retry_after_ms: reply.wait.retry_after_ms };
    const task = reply.task;
    expect(BigInt(task.task_id) > 0n, `task_id ${task.task_id} should be positive`);
    taskId = task.task_id;
    return {
      outcome: 'task',
      task_id: task.task_id,
      base_version: task.base_version,
      trainable: task.trainable,
      epochs: task.training.epochs,
      batch_size: task.training.batch_size,
      optimizer: task.training.optimizer,
      seed: task.seed,
      planned_peak_bytes: task.planned_peak_bytes,
    };
  });

  await step('heartbeat', async () => {
    const reply = await call('Heartbeat', { task_id: taskId }, bearer(token));
    expect(reply.task_cancelled === false, 'task reported cancelled');
    return { task_id: taskId, task_cancelled: reply.task_cancelled, global_version: reply.global_version };
  });

  await step('get_model', async () => {
    const chunk = await call('GetModel', { version: -1, part: 'MODEL_PART_FULL', offset: '0' }, bearer(token));
    const total = Number(chunk.total_bytes);
    const data = chunk.data;
    expect(Buffer.isBuffer(data), 'data is not bytes');
    expect(data.length === Math.min(total, summary.steps.enrol.chunk_bytes), `chunk of ${data.length} bytes for a ${total}-byte model`);
    expect(data.subarray(0, 4).toString('latin1') === 'FTTP', 'payload does not start with FTTP');
    expect(/^[0-9a-f]{64}$/.test(chunk.sha256), 'sha256 is not 64 hex digits');
    const result = { version: chunk.version, offset: chunk.offset, total_bytes: chunk.total_bytes, chunk_bytes: data.length, sha256: chunk.sha256 };
    if (data.length === total) {
      result.sha256_matches = crypto.createHash('sha256').update(data).digest('hex') === chunk.sha256;
      expect(result.sha256_matches, 'sha256 of the whole payload does not match');
    }
    return result;
  });

  await step('bad_token', async () => {
    try {
      await call('GetTask', { wait_seconds: 1 }, bearer('not-a-real-token'));
    } catch (error) {
      expect(error.code === grpc.status.UNAUTHENTICATED, `expected UNAUTHENTICATED, got ${grpc.status[error.code]} (${error.details})`);
      return { code: error.code, status: grpc.status[error.code], details: error.details };
    }
    throw new Error('a call with a bad token succeeded');
  });

  await step('unknown_method', async () => {
    // Not in the .proto: made by hand, as a client built from a newer contract would call it.
    const request = Buffer.alloc(0);
    const code = await new Promise((resolve) => {
      client.makeUnaryRequest('/ftte.v1.Federation/NoSuchMethod', (x) => x, (x) => x, request, new grpc.Metadata(),
        { deadline: new Date(Date.now() + CALL_SECONDS * 1000) }, (error) => resolve(error ? { code: error.code, details: error.details } : null));
    });
    expect(code && code.code === grpc.status.UNIMPLEMENTED, `expected UNIMPLEMENTED, got ${JSON.stringify(code)}`);
    return { code: code.code, status: grpc.status[code.code], details: code.details };
  });

  summary.ok = true;
}

main()
  .catch(() => { /* recorded in the summary */ })
  .finally(() => {
    client.close();
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    process.exitCode = summary.ok ? 0 : 1;
  });
