/**
 * The worker side of a manager: the job-consuming verticle, the backup service, schedules,
 * retention, the reaper, metrics and readiness.
 */
package io.mkebackup.worker.service;
