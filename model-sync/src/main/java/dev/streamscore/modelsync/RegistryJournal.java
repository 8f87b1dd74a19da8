package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.RegistryJournalEntry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * The registry's journal: one length-delimited {@link RegistryJournalEntry} per write, forced to
 * disk before the write is acknowledged. Replayed in order on open. Not thread-safe: the registry
 * serializes its writes.
 */
final class RegistryJournal implements AutoCloseable {
  private final FileChannel channel;
  private final OutputStream out;

  private RegistryJournal(FileChannel channel) {
    this.channel = channel;
    this.out = Channels.newOutputStream(channel);
  }

  /**
   * Replays every entry of {@code file} into {@code replay}, then opens it for appending.
   *
   * @throws IOException when it cannot be read or opened
   */
  static RegistryJournal open(Path file, Consumer<RegistryJournalEntry> replay) throws IOException {
    if (Files.exists(file)) {
      try (InputStream in = Files.newInputStream(file)) {
        RegistryJournalEntry entry;
        while ((entry = RegistryJournalEntry.parseDelimitedFrom(in)) != null) {
          replay.accept(entry);
        }
      }
    }
    return new RegistryJournal(
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
  }

  /** Appends {@code entry} and forces it to disk. */
  void append(RegistryJournalEntry entry) throws IOException {
    entry.writeDelimitedTo(out);
    out.flush();
    channel.force(false);
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
