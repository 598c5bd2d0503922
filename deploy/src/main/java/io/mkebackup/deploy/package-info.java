/** The application's entry point and its logging set-up. */
package io.mkebackup.deploy;
