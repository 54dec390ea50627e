/**
 * Images uploaded ahead of the job that uses them (ComfyUI's POST /upload/image) live in the blob
 * store under a folder of their own, `jobs/<folder>/`, kept while this Redis key exists (it expires
 * with JOB_RETENTION_SECONDS); the blob sweeper removes the folder once it has gone.
 */
export const uploadFolderKey = (prefix: string, folder: string) => `${prefix}:uploads:${folder}`;
export const UPLOAD_FOLDER = /^upl_[0-9a-f-]{36}$/;
