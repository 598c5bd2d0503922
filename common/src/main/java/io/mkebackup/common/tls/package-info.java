/**
 * Certificates made with Bouncy Castle: demo CAs and components, self-signed servers, client
 * certificates, the members' CA.
 */
package io.mkebackup.common.tls;
