/** Backup schedules: their cadence (cron or interval), durations and retention. */
package io.mkebackup.common.schedule;
