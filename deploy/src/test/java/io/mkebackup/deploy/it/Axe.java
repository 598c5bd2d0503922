package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;

/**
 * axe-core, Deque's accessibility checker (the one Chromium's and Firefox's audits use), run in the
 * page a test drives. axe-core is MPL-2.0 and 650 KB minified, so it is not kept in the repository:
 * the first use fetches this pinned version from the npm registry with {@code npm pack} (which
 * checks the registry's integrity hash) into target/, and later uses find it there.
 */
final class Axe {
  static final String VERSION = "4.14.1";
  private static String script;

  private Axe() {}

  static synchronized String script() throws IOException, InterruptedException {
    if (script != null) {
      return script;
    }
    Path dir = Cli.JAR.toAbsolutePath().getParent().resolve("axe-core-" + VERSION);
    Path js = dir.resolve("package").resolve("axe.min.js");
    if (!Files.isRegularFile(js)) {
      Files.createDirectories(dir);
      run(dir, "npm", "pack", "--silent", "axe-core@" + VERSION, "--pack-destination", dir.toString());
      run(dir, "tar", "-xzf", "axe-core-" + VERSION + ".tgz", "package/axe.min.js", "package/LICENSE");
    }
    script = Files.readString(js, StandardCharsets.UTF_8);
    return script;
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed (axe-core comes from the npm registry;"
          + " deploy/prereqs.sh installs npm): " + out);
    }
  }

  /** The page's violations of the WCAG 2.x A/AA and best-practice rules, one line each ("" if none). */
  static List<String> violations(WebDriver d) throws IOException, InterruptedException {
    JavascriptExecutor js = (JavascriptExecutor) d;
    d.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
    js.executeScript("if (!window.axe) { " + script() + "\n }");
    Object found = js.executeAsyncScript("const done = arguments[arguments.length - 1];"
        + "axe.run(document, {resultTypes: ['violations']})"
        + ".then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '"
        + "   + v.nodes.map(n => n.target.join(' ') + ' [' + n.failureSummary.replace(/\\s+/g, ' ') + ']').join(', '))))"
        + ".catch(e => done(['axe failed: ' + e]));");
    @SuppressWarnings("unchecked")
    List<String> list = (List<String>) found;
    return list;
  }
}
