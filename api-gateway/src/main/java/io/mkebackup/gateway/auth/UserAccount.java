package io.mkebackup.gateway.auth;

import java.util.Objects;
import java.util.Set;

/**
 * A user who may log in. The password is only ever held as a BCrypt hash.
 *
 * @param roles "admin" may use the backup endpoints
 */
public record UserAccount(String username, String passwordHash, Set<String> roles) {
  public static final String ADMIN = "admin";

  public UserAccount {
    Objects.requireNonNull(username);
    Objects.requireNonNull(passwordHash);
    roles = Set.copyOf(roles);
  }

  public boolean admin() {
    return roles.contains(ADMIN);
  }

  @Override
  public String toString() {
    return "UserAccount[" + username + ", roles=" + roles + "]";
  }
}
