/** Progress events of a running backup, their steps, listeners and human-readable form. */
package io.mkebackup.common.progress;
