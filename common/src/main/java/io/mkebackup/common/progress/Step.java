package io.mkebackup.common.progress;

/** The steps of a backup run, in the order they happen. VOLUME repeats once per volume. */
public enum Step {
  VALIDATION("validation"),
  VOLUME("volume"),
  ETCD("etcd"),
  AUTH_STORE("auth-store"),
  FINALIZE("finalize");

  private final String id;

  Step(String id) {
    this.id = id;
  }

  /** The name used in events, log lines and JSON. */
  public String id() {
    return id;
  }
}
