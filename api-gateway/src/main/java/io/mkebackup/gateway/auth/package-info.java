/**
 * Who may call the API: password logins, bearer tokens kept in the cluster, MKE client bundles'
 * certificates, and the end of sessions.
 */
package io.mkebackup.gateway.auth;
