/**
 * The mke-backup commands (picocli): backup, verify, restore, manager, demo-state, hash-password.
 */
package io.mkebackup.deploy.cli;
