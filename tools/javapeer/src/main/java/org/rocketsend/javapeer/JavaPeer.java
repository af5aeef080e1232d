package org.rocketsend.javapeer;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * javapeer: the official RocketMQ Java client (rocketmq-client, same release as the test broker)
 * driven from the command line, as the witness and benchmark peer of rocketsend's Go tests.
 *
 * <pre>
 * consume --namesrv ADDR --topic T [--group G] [--expr '*'] [--count N] [--timeout-ms MS] [--orderly]
 * reply   --namesrv ADDR --topic T [--group G] [--expr '*'] [--count N] [--timeout-ms MS] [--orderly]
 * trace   --namesrv ADDR --topic TRACE_TOPIC [--group G] [--expr '*'] [--count N] [--timeout-ms MS]
 * produce --namesrv ADDR --topic T [--group G] [--count N] [--size BYTES] [--mode sync|async|oneway]
 *         [--threads K] [--inflight M] [--hash-key KEY] [--queues] [--print-sent] [--warmup W]
 *         [--tags T] [--keys K] [--prop NAME=VALUE]... [--send-timeout-ms MS] [--timeout-ms MS]
 *         [--auto-batch] [--no-compress]
 * request --namesrv ADDR --topic T [--group G] [--count N] [--size BYTES] [--request-timeout-ms MS]
 *         [--timeout-ms MS] [--api callback|sync]
 * hash    --key K [--key K2 ...] --queues N
 * common: [--exit-on-stdin-eof]  exit (status 3) as soon as stdin reaches EOF: the parent is gone
 * </pre>
 *
 * <p>Any option --NAME also accepts --NAME-base64 with the UTF-8 bytes of the value in standard
 * base64: the JVM decodes argv with the platform charset (often ASCII in a C locale), so callers
 * pass non-ASCII values that way. In --tags, --keys and --prop values "{i}" is replaced by the
 * message index.
 *
 * <p>stdout carries only data: one JSON object per line (ASCII). Everything else, the client's
 * own logging included (see rmq.logback.xml), goes to stderr. Exit status: 0 done (also after a
 * timeout that is reported as an event), 1 error, 2 usage, 3 stdin closed.
 */
public final class JavaPeer {
  private static final PrintStream OUT =
      new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.US_ASCII);

  static final String UNIQ =
      ProcessHandle.current().pid() + "_" + Long.toString(System.nanoTime(), 36);

  private JavaPeer() {}

  public static void main(String[] argv) {
    // Whatever a library prints on System.out must not corrupt the data lines.
    System.setOut(System.err);
    int code;
    try {
      code = run(argv);
    } catch (UsageException e) {
      System.err.println("javapeer: " + e.getMessage());
      System.err.println(
          "usage: javapeer consume|reply|trace|produce|request|hash [options] (see JavaPeer.java)");
      code = 2;
    } catch (Throwable e) {
      System.err.println("javapeer: error: " + e);
      e.printStackTrace(System.err);
      code = 1;
    }
    OUT.flush();
    System.err.flush();
    // The RocketMQ client leaves non-daemon threads behind after shutdown(): exit explicitly.
    Runtime.getRuntime().halt(code);
  }

  private static int run(String[] argv) throws Exception {
    if (argv.length == 0) {
      throw new UsageException("missing subcommand");
    }
    String cmd = argv[0];
    switch (cmd) {
      case "consume":
      case "reply":
        {
          Args a =
              new Args(
                  argv,
                  Set.of("namesrv", "topic", "group", "expr", "count", "timeout-ms"),
                  Set.of("orderly"));
          watchStdin(a);
          return Consume.run(a, cmd.equals("reply"));
        }
      case "trace":
        {
          Args a =
              new Args(
                  argv, Set.of("namesrv", "topic", "group", "expr", "count", "timeout-ms"), Set.of());
          watchStdin(a);
          return Consume.runTrace(a);
        }
      case "produce":
        {
          Args a =
              new Args(
                  argv,
                  Set.of(
                      "namesrv", "topic", "group", "count", "size", "mode", "threads",
                      "inflight", "hash-key", "warmup", "tags", "keys", "prop",
                      "send-timeout-ms", "timeout-ms"),
                  Set.of("queues", "print-sent", "auto-batch", "no-compress"));
          watchStdin(a);
          return Produce.run(a);
        }
      case "request":
        {
          Args a =
              new Args(
                  argv,
                  Set.of(
                      "namesrv", "topic", "group", "count", "size", "request-timeout-ms",
                      "timeout-ms", "api"),
                  Set.of());
          watchStdin(a);
          return Request.run(a);
        }
      case "hash":
        {
          Args a = new Args(argv, Set.of("key", "queues"), Set.of());
          return hash(a);
        }
      default:
        throw new UsageException("unknown subcommand " + cmd);
    }
  }

  /** hash: the queue index SelectMessageQueueByHash picks among N queues, per key. */
  private static int hash(Args a) {
    List<String> keys = a.all("key");
    if (keys.isEmpty()) {
      throw new UsageException("hash needs --key");
    }
    int n = a.intOpt("queues", -1);
    if (n < 1) {
      throw new UsageException("hash needs --queues N (N >= 1)");
    }
    List<org.apache.rocketmq.common.message.MessageQueue> mqs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      mqs.add(new org.apache.rocketmq.common.message.MessageQueue("javapeer", "hash", i));
    }
    // The real selector class, not a re-implementation of it.
    org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash sel =
        new org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash();
    for (String k : keys) {
      int idx = sel.select(mqs, new org.apache.rocketmq.common.message.Message(), k).getQueueId();
      emit(
          Json.event("hash")
              .str("key", k)
              .num("hashCode", k.hashCode())
              .num("queues", n)
              .num("index", idx)
              .done());
    }
    return 0;
  }

  // ------------------------------------------------------------------ shared helpers

  /** Writes one data line to stdout and flushes it. */
  static synchronized void emit(String jsonLine) {
    OUT.print(jsonLine);
    OUT.print('\n');
    OUT.flush();
  }

  /** Body of message i: "javapeer-<i>-" then 'a'+(j%26) at byte j, cut to size bytes. */
  static byte[] body(int i, int size) {
    byte[] prefix = ("javapeer-" + i + "-").getBytes(StandardCharsets.US_ASCII);
    byte[] b = new byte[size];
    for (int j = 0; j < size; j++) {
      b[j] = j < prefix.length ? prefix[j] : (byte) ('a' + j % 26);
    }
    return b;
  }

  static String instanceName(String role) {
    return "javapeer-" + role + "-" + UNIQ;
  }

  static long deadlineAfter(long ms) {
    long now = System.nanoTime();
    long d = now + TimeUnit.MILLISECONDS.toNanos(ms);
    return d < now ? Long.MAX_VALUE : d;
  }

  static long remainingMs(long deadline) {
    return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
  }

  /** Milliseconds since the JVM started (for start-up measurements). */
  static long sinceJvmStartMs() {
    return System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
  }

  /** Peak resident set size in KiB (VmHWM from /proc/self/status), or -1 when unknown. */
  static long peakRssKiB() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.substring(6).replace("kB", "").trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** Runs r in a thread and waits at most ms for it: client shutdowns must not hang us. */
  static void bounded(String what, long ms, Runnable r) {
    Thread t = new Thread(r, "javapeer-" + what);
    t.setDaemon(true);
    t.start();
    try {
      t.join(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      System.err.println("javapeer: " + what + " did not finish within " + ms + " ms, going on");
    }
  }

  private static void watchStdin(Args a) {
    if (!a.flag("exit-on-stdin-eof")) {
      return;
    }
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[256];
              try {
                while (System.in.read(buf) >= 0) {
                  // ignore input
                }
              } catch (IOException e) {
                // treat like EOF
              }
              System.err.println("javapeer: stdin closed (parent gone), exiting");
              System.err.flush();
              Runtime.getRuntime().halt(3);
            },
            "javapeer-stdin-watch");
    t.setDaemon(true);
    t.start();
  }

  static final class UsageException extends RuntimeException {
    UsageException(String msg) {
      super(msg);
    }
  }

  /** Hand-rolled "--name value" / "--name=value" / "--flag" parser. */
  static final class Args {
    private final Map<String, List<String>> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    Args(String[] argv, Set<String> options, Set<String> booleans) {
      Set<String> bools = new HashSet<>(booleans);
      bools.add("exit-on-stdin-eof");
      for (int i = 1; i < argv.length; i++) {
        String arg = argv[i];
        if (!arg.startsWith("--") || arg.length() == 2) {
          throw new UsageException("unexpected argument " + arg);
        }
        String name = arg.substring(2);
        String value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (bools.contains(name)) {
          if (value == null || Boolean.parseBoolean(value)) {
            flags.add(name);
          } else {
            flags.remove(name);
          }
          continue;
        }
        boolean b64 = false;
        if (name.endsWith("-base64")) {
          b64 = true;
          name = name.substring(0, name.length() - "-base64".length());
        }
        if (!options.contains(name)) {
          throw new UsageException("unknown option --" + name + " for " + argv[0]);
        }
        if (value == null) {
          if (i + 1 >= argv.length) {
            throw new UsageException("missing value for --" + name);
          }
          value = argv[++i];
        }
        if (b64) {
          try {
            value = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
          } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + "-base64: " + e.getMessage());
          }
        }
        values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      }
    }

    boolean flag(String name) {
      return flags.contains(name);
    }

    String opt(String name, String def) {
      List<String> v = values.get(name);
      return v == null ? def : v.get(v.size() - 1);
    }

    String req(String name) {
      String v = opt(name, null);
      if (v == null || v.isEmpty()) {
        throw new UsageException("missing --" + name);
      }
      return v;
    }

    List<String> all(String name) {
      return values.getOrDefault(name, Collections.emptyList());
    }

    int intOpt(String name, int def) {
      return (int) longOpt(name, def);
    }

    long longOpt(String name, long def) {
      String v = opt(name, null);
      if (v == null) {
        return def;
      }
      try {
        return Long.parseLong(v.trim());
      } catch (NumberFormatException e) {
        throw new UsageException("--" + name + ": not a number: " + v);
      }
    }

    @Override
    public String toString() {
      return values + " " + Arrays.toString(flags.toArray());
    }
  }
}
