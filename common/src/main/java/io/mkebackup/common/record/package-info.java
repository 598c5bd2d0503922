/** The backup record as the seed's API documents it, its states and its time format. */
package io.mkebackup.common.record;
