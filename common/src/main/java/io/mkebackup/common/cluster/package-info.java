/**
 * The cluster's shared state over Hazelcast: the backup lock and lease, the catalog and its
 * copies, schedules, the cluster secret and trust.
 */
package io.mkebackup.common.cluster;
