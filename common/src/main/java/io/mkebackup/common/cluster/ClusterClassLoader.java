package io.mkebackup.common.cluster;

import com.hazelcast.nio.serialization.DataSerializable;
import io.mkebackup.common.io.FileNames;
import java.util.List;
import java.util.Set;

/**
 * The class loader of the Hazelcast configuration: it loads only the classes this cluster has a
 * reason to load by name, and refuses the rest with a {@link SecurityException}, before the class
 * is loaded, initialized or constructed.
 *
 * <p>Hazelcast reads a {@link DataSerializable} (not an identified one) by its class name and
 * runs that class's no-argument constructor with the configuration's class loader, whatever the
 * Java deserialization filter says ({@link ClusterSettings#javaSerializationFilter} covers only
 * Java serialization). Anything that knows the cluster's derived name can send such a name, so a
 * class with a constructor or static initializer worth running could be run on a manager, which
 * runs as root with the Docker socket. Left loadable: the JDK, Hazelcast, Vert.x (but not its
 * holder that in turn instantiates a named class: this project uses no Vert.x shared data), and
 * this project's own {@link DataSerializable} types (the lease's calls), checked without
 * initializing them. A refusal is a {@link SecurityException}, not a
 * {@link ClassNotFoundException}: Hazelcast answers the latter by trying the thread's context
 * class loader, which would load anything.
 */
final class ClusterClassLoader extends ClassLoader {
  static {
    registerAsParallelCapable();
  }

  private static final List<String> ALLOWED_PREFIXES = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.",
      "com.hazelcast.", "io.vertx.");
  /** Instantiates a class it reads the name of, with the thread's class loader. */
  private static final Set<String> REFUSED = Set.of("io.vertx.spi.cluster.hazelcast.impl.DataSerializableHolder");
  private static final String OWN_PREFIX = "io.mkebackup.";

  ClusterClassLoader(ClassLoader parent) {
    super("mke-backup-cluster", parent);
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    String element = name;
    while (element.startsWith("[")) {
      element = element.substring(1);
    }
    if (element.startsWith("L") && element.endsWith(";")) {
      element = element.substring(1, element.length() - 1);
    }
    if (element.length() == 1) {
      return super.loadClass(name, resolve); // an array of a primitive type
    }
    if (!REFUSED.contains(element) && ALLOWED_PREFIXES.stream().anyMatch(element::startsWith)) {
      return super.loadClass(name, resolve);
    }
    if (element.startsWith(OWN_PREFIX)) {
      // Loaded without running its static initializer, to look at what it is.
      Class<?> c = Class.forName(element, false, getParent());
      if (DataSerializable.class.isAssignableFrom(c)) {
        return super.loadClass(name, resolve);
      }
    }
    throw new SecurityException("class " + FileNames.printable(name, 100) + " is not one the backup cluster loads by"
        + " name; a Hazelcast member or client without the cluster secret sent it");
  }
}
