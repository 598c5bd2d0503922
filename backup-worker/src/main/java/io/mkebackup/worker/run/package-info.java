/**
 * The life of one backup in the cluster: lock, records, lease and terminal event, whoever asked
 * for it.
 */
package io.mkebackup.worker.run;
