/**
 * The backup and schedule endpoints: request validation, handing jobs to a worker over the event
 * bus, and the progress streams.
 */
package io.mkebackup.gateway.backup;
