/**
 * What travels on the event bus: addresses, backup jobs, the rules a worker checks them against,
 * and errors as bus failures.
 */
package io.mkebackup.common.bus;
