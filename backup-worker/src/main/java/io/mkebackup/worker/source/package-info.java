/**
 * Where a backup's bytes come from: the Docker engine, volumes on disk or through its archive API,
 * and etcd.
 */
package io.mkebackup.worker.source;
