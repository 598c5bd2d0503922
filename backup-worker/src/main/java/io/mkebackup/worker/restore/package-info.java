/**
 * Restoring a manager's volumes and etcd from an archive, staged until the whole archive is
 * proved.
 */
package io.mkebackup.worker.restore;
