/**
 * The error type and its stable codes, the passphrase holder and the product's identity, shared by
 * every module.
 */
package io.mkebackup.common;
