/**
 * One manager node: a clustered Vert.x holding the worker and gateway verticles, with its
 * configuration.
 */
package io.mkebackup.deploy.manager;
