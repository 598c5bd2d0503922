package io.mkebackup.gateway.auth;

/** Ends what a login token opened when the token ends (logged out or expired). */
@FunctionalInterface
public interface TokenWatch {
  /** Calls {@code onEnd} once when the token ends; returns what cancels the watch. */
  Runnable watch(String token, Runnable onEnd);
}
