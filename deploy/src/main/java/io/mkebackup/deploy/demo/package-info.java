/** A demo MKE manager state on the local Docker engine, for the demo and the tests. */
package io.mkebackup.deploy.demo;
