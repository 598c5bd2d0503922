/**
 * The api-gateway verticle: HTTPS, security headers, routing, and the one mapping of error codes
 * to HTTP statuses.
 */
package io.mkebackup.gateway;
