package org.rocketsend.javapeer;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.impl.consumer.DefaultMQPushConsumerImpl;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.MQVersion;

/**
 * consume / reply: a DefaultMQPushConsumer in a fresh group (CONSUME_FROM_FIRST_OFFSET, so it
 * reads the topic from its first message) that prints every message it is handed as one JSON line
 * (consume), or answers each one as a request-reply responder with MessageUtil.createReplyMessage
 * sent by a DefaultMQProducer (reply).
 *
 * <p>"ready" is printed once the consumer has started and its rebalance owns a ProcessQueue for
 * every queue of the topic that the NameServer route lists as readable (for --orderly: and holds
 * the broker-side lock of each), and a heartbeat sent after that carries its subscription's
 * current version. What that guarantees: the client is registered with the brokers, which will
 * not refuse its pulls as "subscription not latest", and has pull requests submitted for all
 * queues. It does not guarantee the first pull
 * has completed. Because the group is new and starts at the first offset, messages sent before
 * "ready" are delivered too; "ready" matters for timing, not for completeness. Queues added to
 * the topic later are picked up by the next rebalance (every 20 s by default).
 */
final class Consume {
  private Consume() {}

  static int run(JavaPeer.Args a, boolean reply) throws Exception {
    return run(a, reply, false);
  }

  /**
   * trace: like consume, but each message is a trace message whose body is decoded with the Java
   * client's own TraceDataEncoder.decoderFromTraceDataString; one "trace" line per record (see
   * Trace.java). --count counts trace messages.
   */
  static int runTrace(JavaPeer.Args a) throws Exception {
    return run(a, false, true);
  }

  private static int run(JavaPeer.Args a, boolean reply, boolean trace) throws Exception {
    final String ns = a.req("namesrv");
    final String topic = a.req("topic");
    final String group =
        a.opt(
            "group",
            "javapeer_" + (reply ? "reply" : trace ? "trace" : "consume") + "_" + JavaPeer.UNIQ);
    final String expr = a.opt("expr", "*");
    final int count = a.intOpt("count", 0); // 0: until the timeout
    final long timeoutMs = a.longOpt("timeout-ms", 600_000);
    final boolean orderly = a.flag("orderly");
    final long deadline = JavaPeer.deadlineAfter(timeoutMs);

    final DefaultMQProducer replier;
    if (reply) {
      replier = new DefaultMQProducer(group);
      replier.setNamesrvAddr(ns);
      replier.setInstanceName(JavaPeer.instanceName("replier"));
      replier.start();
    } else {
      replier = null;
    }

    final DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
    consumer.setNamesrvAddr(ns);
    consumer.setInstanceName(
        JavaPeer.instanceName(reply ? "reply" : trace ? "trace" : "consume"));
    consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
    // A witness, not a workhorse: few threads, bounded buffering (the JVM has a 128 MiB heap).
    consumer.setConsumeThreadMin(2);
    consumer.setConsumeThreadMax(2);
    consumer.setPullThresholdForTopic(2000);
    consumer.setPullThresholdSizeForTopic(32); // MiB
    consumer.subscribe(topic, expr);

    final AtomicInteger seen = new AtomicInteger();
    final CountDownLatch done = new CountDownLatch(1);
    // Messages are printed after "ready" only: the Go side reads "ready" first. A message pulled
    // while the ready check still runs (the heartbeat below takes a moment) waits for it.
    final CountDownLatch readyPrinted = new CountDownLatch(1);
    final Handler handler =
        msg -> {
          awaitQuietly(readyPrinted);
          int n = seen.incrementAndGet();
          if (count > 0 && n > count) {
            return; // beyond --count: acknowledged, not reported
          }
          if (trace) {
            for (String line : Trace.decode(msg)) {
              JavaPeer.emit(line);
            }
          } else {
            JavaPeer.emit(reply ? answer(replier, msg) : Json.message(msg).done());
          }
          if (count > 0 && n == count) {
            done.countDown();
          }
        };
    if (orderly) {
      consumer.registerMessageListener(
          (MessageListenerOrderly)
              (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                  handler.handle(m);
                }
                return ConsumeOrderlyStatus.SUCCESS;
              });
    } else {
      consumer.registerMessageListener(
          (MessageListenerConcurrently)
              (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                  handler.handle(m);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
              });
    }

    final AtomicBoolean closed = new AtomicBoolean();
    final Runnable close =
        () -> {
          if (closed.compareAndSet(false, true)) {
            JavaPeer.bounded("consumer-shutdown", 10_000, consumer::shutdown);
            if (replier != null) {
              JavaPeer.bounded("replier-shutdown", 10_000, replier::shutdown);
            }
          }
        };
    // SIGTERM (the Go helper's Close): unregister from the brokers before the JVM goes.
    Runtime.getRuntime().addShutdownHook(new Thread(close, "javapeer-shutdown-hook"));

    long t0 = System.nanoTime();
    consumer.start();
    DefaultMQPushConsumerImpl impl = consumer.getDefaultMQPushConsumerImpl();
    long lastKick = System.nanoTime();
    int queues;
    while ((queues = readyQueues(impl, topic, orderly)) == 0) {
      if (System.nanoTime() - deadline > 0) {
        JavaPeer.emit(
            Json.event("timeout").num("received", seen.get()).bool("ready", false).done());
        readyPrinted.countDown();
        close.run();
        return 0;
      }
      // The rebalance service runs every 20 s; wake it up while the route or the broker's view
      // of the group (heartbeat) is still settling.
      if (System.nanoTime() - lastKick > TimeUnit.SECONDS.toNanos(1)) {
        impl.getmQClientFactory().rebalanceImmediately();
        lastKick = System.nanoTime();
      }
      Thread.sleep(20);
    }
    heartbeatCurrentSubscription(
        impl, topic, impl.getRebalanceImpl().getTopicSubscribeInfoTable().get(topic));
    JavaPeer.emit(
        Json.event("ready")
            .str("group", group)
            .str("clientId", impl.getmQClientFactory().getClientId())
            .num("queues", queues)
            .num("readyMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
            .num("sinceJvmStartMs", JavaPeer.sinceJvmStartMs())
            .str("clientVersion", MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION))
            .done());
    readyPrinted.countDown();

    boolean reached = done.await(JavaPeer.remainingMs(deadline), TimeUnit.MILLISECONDS);
    if (!reached) {
      JavaPeer.emit(
          Json.event("timeout")
              .num("received", count > 0 ? Math.min(seen.get(), count) : seen.get())
              .bool("ready", true)
              .done());
    }
    close.run();
    return 0;
  }

  /**
   * Number of queues of topic when the rebalance owns all of them (see the class comment), else
   * 0.
   */
  private static int readyQueues(DefaultMQPushConsumerImpl impl, String topic, boolean orderly) {
    Set<MessageQueue> all = impl.getRebalanceImpl().getTopicSubscribeInfoTable().get(topic);
    if (all == null || all.isEmpty()) {
      return 0;
    }
    Map<MessageQueue, ProcessQueue> owned = impl.getRebalanceImpl().getProcessQueueTable();
    for (MessageQueue mq : all) {
      ProcessQueue pq = owned.get(mq);
      if (pq == null || pq.isDropped() || (orderly && !pq.isLocked())) {
        return 0;
      }
    }
    return all.size();
  }

  /**
   * Makes sure the brokers hold the subscription's current version before "ready" is printed.
   * Each rebalance that changes the owned queues gives the subscription a new version (right after
   * the queues show as owned, so after readyQueues saw them) and sends a heartbeat with it, but
   * that send is skipped when another heartbeat holds the client's lock (a tryLock); the brokers
   * then answer every pull "the consumer's subscription not latest" until the next periodic
   * heartbeat, 30 s later, and nothing is consumed meanwhile (5.5.1 CI runs lost request-reply
   * tests to it, once even with a heartbeat sent here through that same lock, which is what made
   * the rebalance's own one skip). So the heartbeat goes straight to each broker of the topic,
   * without the lock, until the version stays what the last one carried for 200 ms. Reflection,
   * because the heartbeat classes moved packages between 4.x and 5.x and javapeer is built against
   * either. Bounded at 10 s: "ready" is printed anyway, and a stale subscription then shows as
   * the test's own timeout.
   */
  private static void heartbeatCurrentSubscription(
      DefaultMQPushConsumerImpl impl, String topic, Set<MessageQueue> queues) throws Exception {
    MQClientInstance factory = impl.getmQClientFactory();
    Method prepare = null;
    for (Method m : factory.getClass().getDeclaredMethods()) {
      if (m.getName().equals("prepareHeartbeatData")) {
        prepare = m; // () in 4.x, (boolean isWithoutSub) in 5.x
      }
    }
    Method send = null;
    for (Method m : factory.getMQClientAPIImpl().getClass().getMethods()) {
      if (m.getName().equals("sendHeartbeat") && m.getParameterCount() == 3) {
        send = m; // (String addr, HeartbeatData data, long timeoutMillis) in both
      }
    }
    if (prepare == null || send == null) {
      throw new IllegalStateException("this Java client has no prepareHeartbeatData/sendHeartbeat");
    }
    prepare.setAccessible(true);
    Set<String> brokers = new TreeSet<>();
    for (MessageQueue mq : queues) {
      brokers.add(mq.getBrokerName());
    }
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    long sent = Long.MIN_VALUE;
    while (System.nanoTime() - until < 0) {
      Object sub = impl.getRebalanceImpl().getSubscriptionInner().get(topic);
      long version = (Long) sub.getClass().getMethod("getSubVersion").invoke(sub);
      if (version == sent) {
        return; // no rebalance changed it since the last heartbeat
      }
      // Prepared after the version was read: it carries that version or a newer one.
      Object data =
          prepare.getParameterCount() == 0 ? prepare.invoke(factory) : prepare.invoke(factory, false);
      boolean all = true;
      for (String b : brokers) {
        String addr = factory.findBrokerAddressInPublish(b);
        try {
          if (addr == null) {
            throw new IllegalStateException("no address for " + b);
          }
          send.invoke(factory.getMQClientAPIImpl(), addr, data, 3000L);
        } catch (Exception e) {
          all = false; // retried below
        }
      }
      if (all) {
        sent = version;
      }
      Thread.sleep(200);
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // shutting down: the consumer's threads are interrupted
    }
  }

  /** Answers one request; returns the line to print. */
  private static String answer(DefaultMQProducer replier, MessageExt req) {
    byte[] body = req.getBody() == null ? new byte[0] : req.getBody();
    byte[] prefix = "reply:".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] replyBody = new byte[prefix.length + body.length];
    System.arraycopy(prefix, 0, replyBody, 0, prefix.length);
    System.arraycopy(body, 0, replyBody, prefix.length, body.length);
    String request = Json.message(req).done();
    try {
      Message r = MessageUtil.createReplyMessage(req, replyBody);
      long t0 = System.nanoTime();
      SendResult sr = replier.send(r, 3000);
      return Json.event("replied")
          .raw("request", request)
          .str("replyTopic", r.getTopic())
          .str("correlationId", r.getProperty(MessageConst.PROPERTY_CORRELATION_ID))
          .str("replyToClient", r.getProperty(MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT))
          .str("msgType", r.getProperty(MessageConst.PROPERTY_MESSAGE_TYPE))
          .map("replyProperties", r.getProperties())
          .bytes("replyBodyBase64", replyBody)
          .str("status", String.valueOf(sr.getSendStatus()))
          .str("replyMsgId", sr.getMsgId())
          .num("sendMs", (System.nanoTime() - t0) / 1e6)
          .done();
    } catch (Exception e) {
      return Json.event("replyFailed")
          .raw("request", request)
          .str("correlationId", req.getProperty(MessageConst.PROPERTY_CORRELATION_ID))
          .str("replyToClient", req.getProperty(MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT))
          .str("expectedReplyTopic", replyTopicOf(req))
          .str("error", e.toString())
          .done();
    }
  }

  private static String replyTopicOf(MessageExt req) {
    String cluster = req.getProperty(MessageConst.PROPERTY_CLUSTER);
    return cluster == null ? null : MixAll.getReplyTopic(cluster);
  }

  @FunctionalInterface
  private interface Handler {
    void handle(MessageExt m);
  }
}
