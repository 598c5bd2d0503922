/**
 * File names as the exact bytes Linux keeps, the backup directory's checks, the fence a writer asks
 * before each write, and the one fsyncing atomic write of small files.
 */
package io.mkebackup.common.io;
