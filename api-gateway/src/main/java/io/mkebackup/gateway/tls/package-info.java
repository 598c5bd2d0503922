/** The gateway's server certificate: the operator's, or one made and kept on first start. */
package io.mkebackup.gateway.tls;
