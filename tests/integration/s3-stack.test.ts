import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { fetchBuffer, postJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS } from '../helpers/paths';
import { startTestS3, type TestS3 } from '../helpers/s3-server';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

// API and worker are separate processes that share nothing but Redis and the bucket.
let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

const noLocalBlobs = (stack: Stack) => expect(fs.existsSync(path.join(stack.dataDir, 'blobs'))).toBe(false);

describe('BLOB_STORE=s3', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { ...s3.env, MODELS_PATH: DEMO_MODELS } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("a generation job's images land in the bucket, and the image route and the zip serve them", async () => {
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'demo-cppn',
      n: 2,
      seed: 5,
      width: 96,
      height: 64,
      prompt: 'tin roofs',
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, res.body.id);
    expect(job.status).toBe('succeeded');
    expect(await s3.listKeys(`jobs/${job.id}/`)).toEqual([
      `jobs/${job.id}/outputs/0.png`,
      `jobs/${job.id}/outputs/1.png`,
    ]);

    const zip = readZip((await fetchBuffer(`${stack.url}/v1/jobs/${job.id}/archive`)).data);
    expect(zip.map((f) => f.name)).toEqual(['image-000.png', 'image-001.png', 'manifest.json']);
    for (const [i, img] of job.result.images.entries()) {
      const stored = await s3.getObject(`jobs/${job.id}/outputs/${i}.png`);
      const served = await fetchBuffer(`${stack.url}${img.url}`);
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(served.data.equals(stored)).toBe(true);
      expect(zip[i].data.equals(stored)).toBe(true);
      expect(await sharp(stored).metadata()).toMatchObject({ format: 'png', width: 96, height: 64 });
    }
    noLocalBlobs(stack);
  });

  test('a classification upload and its pixels are staged in the bucket and the worker classifies it from there', async () => {
    const red = await sharp({ create: { width: 48, height: 48, channels: 3, background: '#e01010' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('model', 'demo-colors');
    form.append('image', new Blob([new Uint8Array(red)], { type: 'image/png' }), 'red.png');
    const res = await fetch(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // The upload (for zips) and the pixels the model takes, decoded once by the API.
    expect((await s3.listKeys(`jobs/${id}/`)).sort()).toEqual([`jobs/${id}/inputs-pixels/0`, `jobs/${id}/inputs/0`]);
    expect((await s3.getObject(`jobs/${id}/inputs/0`)).equals(red)).toBe(true);
    const pixels = await s3.getObject(`jobs/${id}/inputs-pixels/0`);
    const [r, g, b] = pixels;
    expect({ r: Math.abs(r - 0xe0) <= 2, g: Math.abs(g - 0x10) <= 2, b: Math.abs(b - 0x10) <= 2 }).toEqual({
      r: true,
      g: true,
      b: true,
    });

    const job = await waitForJob(stack.url, id);
    expect(job.status).toBe('succeeded');
    expect(job.result.predictions[0].labels[0].label).toBe('red');
    const zip = readZip((await fetchBuffer(`${stack.url}/v1/jobs/${id}/archive`)).data);
    expect(zip.map((f) => f.name)).toEqual(['input-000.png', 'manifest.json']);
    expect(zip[0].data.equals(red)).toBe(true);
    noLocalBlobs(stack);
  });

  test('clients that hang up mid-download do not use up the API connections to S3', async () => {
    // A 1024x1024 PNG is larger than the socket buffers, so an abandoned read holds its S3 connection
    // unless the API destroys it; the SDK pools 50, so 60 leaks would stall every later download.
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'demo-cppn',
      n: 1,
      seed: 1,
      width: 1024,
      height: 1024,
    });
    const job = await waitForJob(stack.url, res.body.id);
    expect(job.result.images[0].bytes).toBeGreaterThan(300_000);
    const hangUpAfterFirstChunk = (url: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no bytes from ${url} within 10 s: the API is out of S3 connections`)),
          10_000,
        );
        const req = http.get(url, (r) => r.once('data', () => (clearTimeout(timer), req.destroy(), resolve())));
        req.on('error', () => undefined);
      });
    for (let i = 0; i < 60; i++) await hangUpAfterFirstChunk(`${stack.url}${job.result.images[0].url}`);
    for (let i = 0; i < 60; i++) await hangUpAfterFirstChunk(`${stack.url}/v1/jobs/${job.id}/archive`);
    const image = await fetchBuffer(`${stack.url}${job.result.images[0].url}`);
    expect(image.data.equals(await s3.getObject(`jobs/${job.id}/outputs/0.png`))).toBe(true);
  }, 120_000);
});

describe('BLOB_STORE=s3 with S3_PRESIGNED_URLS=true and an S3_PREFIX', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        ...s3.env,
        MODELS_PATH: DEMO_MODELS,
        S3_PREFIX: 'deploy-b',
        S3_PRESIGNED_URLS: 'true',
        S3_PRESIGN_SECONDS: '120',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('the image route redirects (302) to a presigned bucket URL that serves the bytes', async () => {
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'demo-cppn',
      n: 1,
      seed: 9,
      output_format: 'webp',
    });
    const job = await waitForJob(stack.url, res.body.id);
    expect(job.status).toBe('succeeded');
    const key = `deploy-b/jobs/${job.id}/outputs/0.webp`;
    expect(await s3.listKeys(`deploy-b/jobs/${job.id}/`)).toEqual([key]);
    expect(await s3.listKeys(`jobs/${job.id}/`)).toEqual([]);

    const redirect = await fetch(`${stack.url}${job.result.images[0].url}`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('cache-control')).toBe('private, max-age=60');
    const location = new URL(redirect.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${s3.endpoint}/${s3.bucket}/${key}`);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120');

    // No credentials: the signature in the URL is what lets the client in.
    const image = await fetchBuffer(location.href);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(image.data.equals(await s3.getObject(key))).toBe(true);
    expect(image.data.length).toBe(job.result.images[0].bytes);
    // A client that follows redirects just gets the image.
    expect((await fetchBuffer(`${stack.url}${job.result.images[0].url}`)).data.equals(image.data)).toBe(true);
    noLocalBlobs(stack);
  });
});
