/**
 * Where a backup's bytes go and how an archive is read back: the tar writer, the thread stages,
 * the atomic file sink, the spool and the verifier.
 */
package io.mkebackup.worker.pipeline;
