package io.mkebackup.deploy.cli;

import io.mkebackup.worker.freeze.SiblingSwitch;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The dead man's switch of a backup run in a container, run by that backup in a sibling container
 * of the same image (see {@link SiblingSwitch}); hidden: nobody types it.
 */
@Command(name = SiblingSwitch.COMMAND, hidden = true,
    description = "Unpauses the containers named on stdin once the given backup container stops or the deadline passes.")
final class FreezeSwitchCommand implements Callable<Integer> {
  @Parameters(arity = "3..*", paramLabel = "ARG",
      description = "<docker host> <backup container id> <deadline ms>; the containers to unpause come on stdin")
  List<String> args;

  @Override
  public Integer call() throws InterruptedException {
    return SiblingSwitch.run(args, System.in, System.out);
  }
}
