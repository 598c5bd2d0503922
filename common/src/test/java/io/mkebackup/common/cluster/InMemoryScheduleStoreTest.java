package io.mkebackup.common.cluster;

/** The {@link ScheduleStore} contract on {@link InMemoryScheduleStore}: a unit test, no cluster. */
class InMemoryScheduleStoreTest extends ScheduleStoreContract {
  private final InMemoryScheduleStore store = new InMemoryScheduleStore();

  @Override
  ScheduleStore store() {
    return store;
  }

  @Override
  void plant(String id, String stored) {
    store.putStored(id, stored);
  }
}
