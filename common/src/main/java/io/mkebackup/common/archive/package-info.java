/**
 * The archive's layout, its entry names and the etcd snapshot's hash trailer, as writer, verifier
 * and restore agree on them.
 */
package io.mkebackup.common.archive;
