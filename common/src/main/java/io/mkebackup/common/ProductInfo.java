package io.mkebackup.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The product name and version that archives record and restore compares. */
public final class ProductInfo {
  public static final String NAME = "mke-backup";
  /** Version of the archive layout and its metadata entry. */
  public static final int FORMAT_VERSION = 1;
  private static final String VERSION = load();

  private ProductInfo() {}

  public static String version() {
    return VERSION;
  }

  private static String load() {
    try (InputStream in = ProductInfo.class.getResourceAsStream("version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "0.0.0-dev");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
