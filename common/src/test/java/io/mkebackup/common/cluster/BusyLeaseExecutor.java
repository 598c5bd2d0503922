package io.mkebackup.common.cluster;

import static org.awaitility.Awaitility.await;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.DataSerializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps a member's lease executor busy (both of its threads) until closed: meanwhile that member
 * answers neither a lease's confirmation nor "do you hold it?". The members run in the test's JVM,
 * so the tasks wait on a static latch. One at a time.
 */
final class BusyLeaseExecutor implements AutoCloseable {
  /** The executor's pool size, as {@link ClusterSettings} sets it. */
  static final int THREADS = 2;

  private final List<Future<Boolean>> tasks = new ArrayList<>();

  private BusyLeaseExecutor() {}

  /** Both of {@code target}'s lease threads taken, submitted through {@code via}. */
  static BusyLeaseExecutor on(HazelcastInstance via, Member target) {
    Task.gate = new CountDownLatch(1);
    Task.RUNNING.set(0);
    BusyLeaseExecutor busy = new BusyLeaseExecutor();
    for (int i = 0; i < THREADS; i++) {
      busy.tasks.add(via.getExecutorService(BackupLease.EXECUTOR).submitToMember(new Task(), target));
    }
    // The order in which a member runs submitted tasks is not the order they were sent in.
    await("both lease threads busy").atMost(Duration.ofSeconds(10)).until(() -> Task.RUNNING.get() == THREADS);
    return busy;
  }

  /** Lets the threads go and waits for them to be free. */
  @Override
  public void close() throws Exception {
    Task.gate.countDown();
    for (Future<Boolean> f : tasks) {
      f.get(10, TimeUnit.SECONDS);
    }
  }

  /** DataSerializable, as the product's tasks are: the members refuse Java serialization of it. */
  public static final class Task implements Callable<Boolean>, DataSerializable {
    static volatile CountDownLatch gate = new CountDownLatch(1);
    static final AtomicInteger RUNNING = new AtomicInteger();

    @Override
    public Boolean call() throws InterruptedException {
      RUNNING.incrementAndGet();
      return gate.await(60, TimeUnit.SECONDS);
    }

    @Override
    public void writeData(ObjectDataOutput out) {
      // nothing to carry: the latch is static
    }

    @Override
    public void readData(ObjectDataInput in) {
      // nothing to carry
    }
  }
}
