/**
 * One backup of this manager, from plan to metadata entry, with its configuration, progress and
 * log.
 */
package io.mkebackup.worker.backup;
