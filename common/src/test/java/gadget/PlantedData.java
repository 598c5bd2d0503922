package gadget;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.DataSerializable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link DataSerializable} of the classpath outside the cluster's list, in a package of its own
 * (as a third-party library's would be): counts the runs of its constructor and readData, which
 * a rogue member would have run on a manager by sending its name.
 */
public class PlantedData implements DataSerializable {
  public static final AtomicInteger CONSTRUCTED = new AtomicInteger();
  public static final AtomicInteger READ = new AtomicInteger();

  public PlantedData() {
    CONSTRUCTED.incrementAndGet();
  }

  @Override
  public void writeData(ObjectDataOutput out) {
    // nothing to carry: what it runs is the point
  }

  @Override
  public void readData(ObjectDataInput in) {
    READ.incrementAndGet();
  }
}
