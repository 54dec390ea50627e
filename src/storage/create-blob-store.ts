import path from 'node:path';
import type { StorageSettings } from '../config';
import type { BlobStore } from './blob-store';
import { createFsBlobStore } from './fs-blob-store';
import { createS3BlobStore } from './s3-blob-store';

/** The blob store the configuration asks for: files under DATA_DIR/blobs (default) or an S3 bucket. */
export function createBlobStore(storage: StorageSettings): BlobStore {
  const { s3 } = storage;
  switch (storage.blobStore) {
    case 'fs':
      return createFsBlobStore(path.join(storage.dataDir, 'blobs'));
    case 's3': {
      // loadConfig reports a missing bucket; this guards configs built another way.
      if (!s3.bucket) throw new Error('S3_BUCKET is required when BLOB_STORE=s3');
      const { accessKeyId, secretAccessKey } = s3;
      return createS3BlobStore({
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: s3.forcePathStyle,
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
        prefix: s3.prefix,
      });
    }
  }
}
