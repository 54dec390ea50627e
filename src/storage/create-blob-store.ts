import path from 'node:path';
import type { Config } from '../config';
import type { BlobStore } from './blob-store';
import { createFsBlobStore } from './fs-blob-store';
import { createS3BlobStore } from './s3-blob-store';

/** The blob store the configuration asks for: files under DATA_DIR/blobs (default) or an S3 bucket. */
export function createBlobStore(config: Config): BlobStore {
  switch (config.BLOB_STORE) {
    case 'fs':
      return createFsBlobStore(path.join(config.dataDir, 'blobs'));
    case 's3': {
      // loadConfig reports a missing bucket; this guards configs built another way.
      if (!config.S3_BUCKET) throw new Error('S3_BUCKET is required when BLOB_STORE=s3');
      const { S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = config;
      return createS3BlobStore({
        bucket: config.S3_BUCKET,
        region: config.S3_REGION,
        endpoint: config.S3_ENDPOINT,
        forcePathStyle: config.S3_FORCE_PATH_STYLE,
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
        prefix: config.S3_PREFIX,
      });
    }
  }
}
