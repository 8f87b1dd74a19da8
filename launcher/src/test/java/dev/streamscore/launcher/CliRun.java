package dev.streamscore.launcher;

import java.io.PrintWriter;
import java.io.StringWriter;

/** The output, error text and exit code of one in-process run of the command line. */
record CliRun(int code, String out, String err) {
  static CliRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CliRun(code, out.toString(), err.toString());
  }
}
