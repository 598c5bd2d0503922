/**
 * OpenPGP symmetric encryption as gpg reads it, and the decryption of what mke-backup and gpg
 * write.
 */
package io.mkebackup.worker.pipeline.openpgp;
