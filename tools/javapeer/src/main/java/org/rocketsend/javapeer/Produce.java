package org.rocketsend.javapeer;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash;
import org.apache.rocketmq.client.impl.producer.TopicPublishInfo;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * produce: the benchmark peer and the selector witness. Sends --count messages of --size bytes
 * (bodies from JavaPeer.body) with a DefaultMQProducer, in --mode sync (--threads callers of
 * send()), async (--threads issuers, at most --inflight sends outstanding) or oneway.
 *
 * <p>Output: with --hash-key (or --print-sent) one {"event":"sent"} line per message (in
 * completion order), with --queues one {"event":"queues"} line listing the producer's queues in the
 * order the selector sees them, and always a final {"event":"summary"}. Latency is measured per
 * message from the start of the send call to its result (sync, oneway: return of the call; async:
 * the callback). {"event":"phase","phase":"start"|"end"} lines bracket the timed part, so the
 * caller can sample other processes (the brokers' CPU) over it. --auto-batch turns on the client's auto-batching (setAutoBatch(true), its defaults)
 * for sync and async sends (Java never batches oneway sends); --no-compress keeps every body
 * uncompressed. The summary says which header serialization the client used (JSON unless
 * -Drocketmq.serialize.type says otherwise). cpuNanos is the process CPU time (all threads: client, Netty, JIT, GC) spent
 * between the start and the end of the send phase; the producer start, the route lookup and the
 * --warmup sends are outside it.
 */
final class Produce {
  private Produce() {}

  static int run(JavaPeer.Args a) throws Exception {
    final String ns = a.req("namesrv");
    final String topic = a.req("topic");
    final String group = a.opt("group", "javapeer_produce_" + JavaPeer.UNIQ);
    final int count = a.intOpt("count", 1000);
    final int size = a.intOpt("size", 1024);
    final String mode = a.opt("mode", "sync");
    final int threads = a.intOpt("threads", 1);
    final int inflight = a.intOpt("inflight", 256);
    final String hashKey = a.opt("hash-key", null);
    final boolean listQueues = a.flag("queues");
    final boolean printSent = a.flag("print-sent") || hashKey != null;
    final int warmup = a.intOpt("warmup", 0);
    final String tags = a.opt("tags", null);
    final String keys = a.opt("keys", null);
    final List<String[]> props = new ArrayList<>();
    for (String p : a.all("prop")) {
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new JavaPeer.UsageException("--prop wants NAME=VALUE, got " + p);
      }
      props.add(new String[] {p.substring(0, eq), p.substring(eq + 1)});
    }
    final int sendTimeoutMs = a.intOpt("send-timeout-ms", 3000);
    final boolean autoBatch = a.flag("auto-batch");
    final boolean noCompress = a.flag("no-compress");
    final long deadline = JavaPeer.deadlineAfter(a.longOpt("timeout-ms", 300_000));
    if (count < 0 || size < 0 || threads < 1 || inflight < 1 || warmup < 0) {
      throw new JavaPeer.UsageException("count, size, warmup >= 0 and threads, inflight >= 1");
    }
    if (!mode.equals("sync") && !mode.equals("async") && !mode.equals("oneway")) {
      throw new JavaPeer.UsageException("--mode must be sync, async or oneway");
    }

    final DefaultMQProducer p = new DefaultMQProducer(group);
    p.setNamesrvAddr(ns);
    p.setInstanceName(JavaPeer.instanceName("produce"));
    p.setSendMsgTimeout(sendTimeoutMs);
    if (noCompress) {
      p.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
    }
    if (autoBatch) {
      setAutoBatch(p);
    }
    p.start();
    try {
      // Route lookup outside the measured phase (fills the producer's TopicPublishInfo table).
      try {
        p.getDefaultMQProducerImpl().getMqClientFactory().updateTopicRouteInfoFromNameServer(topic);
      } catch (RuntimeException e) {
        System.err.println("javapeer: route prefetch: " + e);
      }
      final RecordingSelector selector = hashKey != null ? new RecordingSelector() : null;
      int warmedUp = 0;
      for (int i = 0; i < warmup && System.nanoTime() - deadline < 0; i++) {
        try {
          p.send(new Message(topic, "javapeer-warmup", JavaPeer.body(i, size)));
          warmedUp++;
        } catch (Exception e) {
          System.err.println("javapeer: warmup send " + i + ": " + e);
        }
      }

      final long[] lat = new long[count];
      Arrays.fill(lat, -1);
      final AtomicInteger next = new AtomicInteger();
      final AtomicInteger ok = new AtomicInteger();
      final AtomicInteger failed = new AtomicInteger();
      final AtomicInteger notOk = new AtomicInteger();
      final AtomicInteger issued = new AtomicInteger();
      final AtomicInteger completed = new AtomicInteger();
      final AtomicBoolean timedOut = new AtomicBoolean();
      final AtomicReference<String> firstError = new AtomicReference<>();
      final Semaphore window = new Semaphore(inflight);

      final class Outcome {
        void done(int i, long t0, SendResult r, MessageQueue selected, Throwable e) {
          long d = System.nanoTime() - t0;
          if (e == null) {
            lat[i] = d;
            ok.incrementAndGet();
            if (r != null && r.getSendStatus() != SendStatus.SEND_OK) {
              notOk.incrementAndGet();
            }
            if (printSent) {
              MessageQueue mq = r != null ? r.getMessageQueue() : selected;
              Json j = Json.event("sent").num("index", i);
              if (mq != null) {
                j.num("queueId", mq.getQueueId()).str("brokerName", mq.getBrokerName());
              }
              if (r != null) {
                j.str("msgId", r.getMsgId())
                    .str("offsetMsgId", r.getOffsetMsgId())
                    .num("queueOffset", r.getQueueOffset())
                    .str("status", String.valueOf(r.getSendStatus()));
              }
              JavaPeer.emit(j.num("latencyMs", d / 1e6).done());
            }
          } else {
            failed.incrementAndGet();
            firstError.compareAndSet(null, e.toString());
            if (printSent) {
              JavaPeer.emit(
                  Json.event("failed").num("index", i).str("error", e.toString()).done());
            }
          }
          completed.incrementAndGet();
        }
      }
      final Outcome outcome = new Outcome();

      Runnable worker =
          () -> {
            while (true) {
              final int i = next.getAndIncrement();
              if (i >= count) {
                return;
              }
              if (System.nanoTime() - deadline > 0) {
                timedOut.set(true);
                return;
              }
              Message m = build(topic, tags, keys, props, i, size);
              try {
                if (mode.equals("async")) {
                  if (!window.tryAcquire(JavaPeer.remainingMs(deadline), TimeUnit.MILLISECONDS)) {
                    timedOut.set(true);
                    return;
                  }
                  issued.incrementAndGet();
                  final long t0 = System.nanoTime();
                  final AtomicBoolean once = new AtomicBoolean();
                  SendCallback cb =
                      new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                          if (once.compareAndSet(false, true)) {
                            outcome.done(i, t0, r, null, null);
                            window.release();
                          }
                        }

                        @Override
                        public void onException(Throwable e) {
                          if (once.compareAndSet(false, true)) {
                            outcome.done(i, t0, null, null, e);
                            window.release();
                          }
                        }
                      };
                  try {
                    if (selector != null) {
                      p.send(m, selector, hashKey, cb);
                    } else {
                      p.send(m, cb);
                    }
                  } catch (Exception e) {
                    cb.onException(e);
                  }
                } else {
                  issued.incrementAndGet();
                  final long t0 = System.nanoTime();
                  try {
                    if (mode.equals("sync")) {
                      SendResult r =
                          selector != null ? p.send(m, selector, hashKey) : p.send(m);
                      outcome.done(i, t0, r, null, null);
                    } else {
                      if (selector != null) {
                        p.sendOneway(m, selector, hashKey);
                      } else {
                        p.sendOneway(m);
                      }
                      outcome.done(i, t0, null, RecordingSelector.LAST.get(), null);
                    }
                  } catch (Exception e) {
                    outcome.done(i, t0, null, null, e);
                  }
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
              }
            }
          };

      com.sun.management.OperatingSystemMXBean os =
          (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      JavaPeer.emit(Json.event("phase").str("phase", "start").done());
      final long cpu0 = os.getProcessCpuTime();
      final long t0 = System.nanoTime();
      List<Thread> ts = new ArrayList<>();
      for (int k = 0; k < threads; k++) {
        Thread t = new Thread(worker, "javapeer-send-" + k);
        t.setDaemon(true);
        t.start();
        ts.add(t);
      }
      for (Thread t : ts) {
        t.join(Math.max(1, JavaPeer.remainingMs(deadline)));
        if (t.isAlive()) {
          timedOut.set(true);
        }
      }
      while (completed.get() < issued.get() && System.nanoTime() - deadline < 0) {
        Thread.sleep(1); // async: callbacks still to come
      }
      if (completed.get() < issued.get()) {
        timedOut.set(true);
      }
      final long t1 = System.nanoTime();
      final long cpu1 = os.getProcessCpuTime();
      JavaPeer.emit(Json.event("phase").str("phase", "end").done());

      if (listQueues) {
        List<MessageQueue> mqs = selector != null ? selector.lastList : null;
        if (mqs == null) {
          TopicPublishInfo info = p.getDefaultMQProducerImpl().getTopicPublishInfoTable().get(topic);
          mqs = info != null ? info.getMessageQueueList() : new ArrayList<>();
        }
        StringBuilder arr = new StringBuilder("[");
        for (int k = 0; k < mqs.size(); k++) {
          if (k > 0) {
            arr.append(',');
          }
          arr.append(
              new Json()
                  .str("brokerName", mqs.get(k).getBrokerName())
                  .num("queueId", mqs.get(k).getQueueId())
                  .done());
        }
        arr.append(']');
        JavaPeer.emit(
            Json.event("queues")
                .str("source", selector != null ? "selector" : "topicPublishInfo")
                .raw("queues", arr.toString())
                .done());
      }

      long[] okLat = Arrays.stream(lat).filter(x -> x >= 0).sorted().toArray();
      double seconds = (t1 - t0) / 1e9;
      JavaPeer.emit(
          Json.event("summary")
              .str("mode", mode)
              .num("count", count)
              .num("size", size)
              .num("threads", threads)
              .num("inflight", inflight)
              .bool("autoBatch", autoBatch)
              .num("warmedUp", warmedUp)
              .str("serialize", String.valueOf(RemotingCommand.getSerializeTypeConfigInThisServer()))
              .num("sent", ok.get())
              .num("failed", failed.get())
              .num("notOk", notOk.get())
              .num("unfinished", issued.get() - completed.get())
              .bool("timedOut", timedOut.get())
              .num("seconds", seconds)
              .num("msgsPerSec", seconds > 0 ? ok.get() / seconds : 0)
              .num("p50Ms", pct(okLat, 0.50))
              .num("p90Ms", pct(okLat, 0.90))
              .num("p99Ms", pct(okLat, 0.99))
              .num("maxMs", okLat.length > 0 ? okLat[okLat.length - 1] / 1e6 : 0)
              .num("cpuNanos", cpu1 - cpu0)
              .num("peakRssKiB", JavaPeer.peakRssKiB())
              .str("firstError", firstError.get())
              .done());
      return 0;
    } finally {
      JavaPeer.bounded("producer-shutdown", 10_000, p::shutdown);
    }
  }

  /**
   * DefaultMQProducer.setAutoBatch(true) with the client's own defaults (ProduceAccumulator:
   * batchMaxDelayMs 10, batchMaxBytes 32 KiB, totalBatchMaxBytes 32 MiB). Called by reflection: the
   * 4.9.x clients, which these sources also compile against, have no auto-batching.
   */
  private static void setAutoBatch(DefaultMQProducer p) throws JavaPeer.UsageException {
    try {
      DefaultMQProducer.class.getMethod("setAutoBatch", boolean.class).invoke(p, true);
    } catch (NoSuchMethodException e) {
      throw new JavaPeer.UsageException(
          "--auto-batch needs a client with DefaultMQProducer.setAutoBatch (5.x)");
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("setAutoBatch", e);
    }
  }

  /** Nearest-rank percentile in milliseconds (0 when there is no sample). */
  private static double pct(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] / 1e6;
  }

  private static Message build(
      String topic, String tags, String keys, List<String[]> props, int i, int size) {
    String idx = Integer.toString(i);
    Message m =
        new Message(
            topic,
            tags == null ? null : tags.replace("{i}", idx),
            keys == null ? null : keys.replace("{i}", idx),
            JavaPeer.body(i, size));
    for (String[] kv : props) {
      m.putUserProperty(kv[0], kv[1].replace("{i}", idx));
    }
    return m;
  }

  /** SelectMessageQueueByHash, recording the queue list it was given and its choice. */
  static final class RecordingSelector implements MessageQueueSelector {
    static final ThreadLocal<MessageQueue> LAST = new ThreadLocal<>();
    private final SelectMessageQueueByHash delegate = new SelectMessageQueueByHash();
    volatile List<MessageQueue> lastList;

    @Override
    public MessageQueue select(List<MessageQueue> mqs, Message msg, Object arg) {
      lastList = new ArrayList<>(mqs);
      MessageQueue mq = delegate.select(mqs, msg, arg);
      LAST.set(mq);
      return mq;
    }
  }
}
