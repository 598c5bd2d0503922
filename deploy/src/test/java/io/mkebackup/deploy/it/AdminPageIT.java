package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The Backup Admin page in Debian's headless Chromium against two real managers: log in, the
 * 12-character rule, a server refusal shown at its field, a backup started on one manager and
 * followed live on both pages, the 409 for a second one, the history, a backup's contents and an
 * archive deleted from disk; axe-core finds no accessibility violation in any of those states.
 * Screenshots go to target/screenshots/.
 */
@Tag("integration")
@Tag("alone")
class AdminPageIT {
  static final Path SHOTS = Cli.JAR.toAbsolutePath().getParent().resolve("screenshots");
  static ManagerCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(SHOTS);
    // 1 MiB/s: the demo state's ~6 MiB take a few seconds, so the bar can be watched moving.
    cluster = ManagerCluster.start(2, Map.of("MKE_BACKUP_MAX_RATE_MIB", "1"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static WebDriver browser() {
    System.setProperty("webdriver.chrome.driver", "/usr/bin/chromedriver");
    ChromeOptions o = new ChromeOptions();
    o.setBinary("/usr/bin/chromium");
    o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800");
    o.setAcceptInsecureCerts(true); // the managers' self-signed certificates
    return new ChromeDriver(ChromeDriverService.createDefaultService(), o);
  }

  static void shot(WebDriver d, String name) throws Exception {
    Path png = ((TakesScreenshot) d).getScreenshotAs(OutputType.FILE).toPath();
    Files.copy(png, SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  static WebElement find(WebDriver d, String id) {
    return d.findElement(By.id(id));
  }

  static void login(WebDriver d, int manager) {
    d.get("https://127.0.0.1:" + cluster.managers.get(manager).httpsPort + "/");
    await().atMost(Duration.ofSeconds(20)).until(() -> find(d, "login-view").isDisplayed());
    find(d, "username").sendKeys("admin");
    find(d, "password").sendKeys(cluster.password);
    find(d, "login-button").click();
    await().atMost(Duration.ofSeconds(20)).until(() -> find(d, "app-view").isDisplayed());
  }

  static void type(WebDriver d, String id, String text) {
    WebElement e = find(d, id);
    e.clear();
    e.sendKeys(text);
  }

  /** axe-core's findings by the page's state, checked together at the end so one run shows all. */
  final Map<String, List<String>> violations = new java.util.LinkedHashMap<>();

  void accessible(WebDriver d, String state) throws Exception {
    List<String> found = Axe.violations(d);
    System.out.println("axe-core, " + state + ": " + (found.isEmpty() ? "no violations" : found));
    violations.put(state, found);
  }

  @Test
  void backupFromThePageFollowedLiveOnEveryManager() throws Exception {
    WebDriver a = browser();
    WebDriver b = browser();
    try {
      a.get("https://127.0.0.1:" + cluster.managers.get(0).httpsPort + "/");
      await().atMost(Duration.ofSeconds(20)).until(() -> find(a, "login-view").isDisplayed());
      shot(a, "1-login");
      accessible(a, "login");
      login(a, 0);
      login(b, 1);
      assertThat(find(a, "who-node").getText()).isEqualTo(cluster.managers.get(0).node);
      assertThat(find(b, "who-node").getText()).isEqualTo(cluster.managers.get(1).node);
      String token = cluster.token(0);
      int before = cluster.api(0).get("/api/ucp/backups", token).array().size();
      accessible(a, "list");

      // The 12-character rule, before anything is sent.
      type(a, "passphrase", "nine-char");
      assertThat(find(a, "passphrase-hint").getText()).contains("12").contains("9 so far");
      find(a, "backup-button").click();
      await().atMost(Duration.ofSeconds(5)).until(() -> find(a, "error-passphrase").getText().contains("too short"));
      shot(a, "2-short-passphrase");
      assertThat(cluster.api(0).get("/api/ucp/backups", token).array().size()).isEqualTo(before);

      // A refusal from the server, shown next to the field it names.
      type(a, "passphrase", "a-good-long-passphrase");
      type(a, "hostPath", "/nonexistent/backups");
      find(a, "backup-button").click();
      await().atMost(Duration.ofSeconds(10)).until(() -> find(a, "error-hostPath").getText().contains("does not exist"));
      assertThat(find(a, "error-passphrase").getText()).isEmpty();
      shot(a, "3-server-refusal");
      accessible(a, "error");

      // Backup Now.
      find(a, "hostPath").clear();
      type(a, "fileName", "ui-backup.tar");
      type(a, "passphrase", "a-good-long-passphrase");
      find(a, "includeLogs").click();
      find(a, "backup-button").click();
      await().atMost(Duration.ofSeconds(20)).until(() -> find(a, "running").isDisplayed()
          && find(b, "running").isDisplayed());
      accessible(a, "running");

      // A second one while it runs: refused, saying which and where.
      type(a, "fileName", "ui-second.tar");
      type(a, "passphrase", "a-good-long-passphrase");
      find(a, "backup-button").click();
      // Asserted, so a timeout shows what the page said instead.
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(find(a, "form-error").getText())
          .contains("another backup is running"));
      assertThat(find(a, "form-error").getText()).contains(cluster.managers.get(0).node);
      shot(a, "4-refused-while-running");

      // The bar moves, on both pages, driven by the event stream.
      Set<Integer> seenA = new TreeSet<>();
      Set<Integer> seenB = new TreeSet<>();
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(150)).until(() -> {
        seenA.add(Integer.parseInt(find(a, "running-progress").getAttribute("aria-valuenow")));
        seenB.add(Integer.parseInt(find(b, "running-progress").getAttribute("aria-valuenow")));
        if (seenA.stream().filter(v -> v > 0 && v < 100).count() == 2) {
          shot(a, "5-progress");
        }
        return "SUCCESS".equals(find(a, "running-state").getText()) && "SUCCESS".equals(find(b, "running-state").getText());
      });
      assertThat(seenA.stream().filter(v -> v > 0 && v < 100).count()).as("values seen: %s", seenA).isGreaterThanOrEqualTo(2);
      assertThat(seenB.stream().filter(v -> v > 0 && v < 100).count()).as("values seen: %s", seenB).isGreaterThanOrEqualTo(1);
      assertThat(find(a, "running-progress").getAttribute("aria-valuenow")).isEqualTo("100");
      assertThat(find(a, "running-outcome").getText()).isEqualTo("Backup succeeded.");
      assertThat(find(b, "running-outcome").getText()).isEqualTo("Backup succeeded.");
      assertThat(find(a, "running-bytes").getText()).contains("MiB");
      assertThat(find(a, "running-elapsed").getText()).matches("\\d+ s|\\d+ min \\d+ s");
      shot(a, "6-succeeded");
      shot(b, "6-succeeded-on-the-other-manager");

      // History, live: the new row on both pages.
      By row = By.xpath("//table[@id='history']//tr[td[3][text()='ui-backup.tar']]");
      await().atMost(Duration.ofSeconds(10)).until(() -> !b.findElements(row).isEmpty()
          && b.findElement(row).getAttribute("data-state").equals("SUCCESS"));
      WebElement r = a.findElement(row);
      assertThat(r.getAttribute("data-state")).isEqualTo("SUCCESS");
      assertThat(r.getText()).contains(cluster.managers.get(0).node).contains("MiB");

      // Its contents, from the metadata recorded at backup time: no passphrase asked.
      r.findElement(By.className("contents-button")).click();
      await().atMost(Duration.ofSeconds(10)).until(() -> find(a, "contents").isDisplayed()
          && find(a, "contents-table").getText().contains("./ucp-controller-server-certs/key.pem"));
      type(a, "contents-filter", "key.pem");
      assertThat(find(a, "contents-table").findElements(By.cssSelector("tbody tr")))
          .allMatch(tr -> tr.getText().contains("key.pem")).isNotEmpty();
      shot(a, "7-contents");
      accessible(a, "contents");

      a.manage().window().setSize(new Dimension(390, 844));
      a.navigate().refresh();
      await().atMost(Duration.ofSeconds(20)).until(() -> find(a, "app-view").isDisplayed()
          && !a.findElements(row).isEmpty());
      shot(a, "8-phone-width");
      // At phone width nothing overflows the page sideways (tables scroll inside their card).
      Object overflow = ((org.openqa.selenium.JavascriptExecutor) a)
          .executeScript("return document.documentElement.scrollWidth > window.innerWidth;");
      assertThat(overflow).isEqualTo(false);

      // The archive deleted from disk: its row says so instead of offering its contents, on the
      // manager that wrote it (the other cannot look at that node's disk).
      JsonObject record = cluster.api(0).get("/api/ucp/backups", token).array().stream().map(JsonObject.class::cast)
          .filter(j -> j.getString("fileName").equals("ui-backup.tar")).findFirst().orElseThrow();
      Files.delete(Path.of(record.getString("backupPath"), "ui-backup.tar"));
      a.manage().window().setSize(new Dimension(1280, 800));
      find(a, "refresh").click();
      // (The history is drawn again on every load and event: a row found may go stale meanwhile.)
      await().atMost(Duration.ofSeconds(10)).ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
          .until(() -> a.findElement(row).getText().contains("not on disk")
              && a.findElement(row).findElements(By.className("contents-button")).isEmpty());
      shot(a, "9-not-on-disk");
      accessible(a, "list with an archive not on disk");
      assertThat(violations).as("axe-core violations by state").allSatisfy((state, found) -> assertThat(found)
          .as("axe-core in the %s state", state).isEmpty());
      assertThat(violations).containsOnlyKeys("login", "list", "error", "running", "contents",
          "list with an archive not on disk");
    } finally {
      a.quit();
      b.quit();
    }
  }
}
