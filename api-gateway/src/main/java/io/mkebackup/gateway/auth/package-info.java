/**
 * Who may call the API: password logins, bearer tokens kept in the cluster, MKE client bundles'
 * certificates, and the end of sessions. Tokens and failed-login counts are kept behind
 * {@link io.mkebackup.gateway.auth.TokenStore}: {@link io.mkebackup.gateway.auth.HazelcastTokenStore}
 * in the cluster, {@link io.mkebackup.gateway.auth.InMemoryTokenStore} in one process for unit
 * tests of the logic above it.
 */
package io.mkebackup.gateway.auth;
