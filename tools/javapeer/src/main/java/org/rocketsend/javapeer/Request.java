package org.rocketsend.javapeer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.common.message.Message;

/**
 * request: the requester side of request-reply, one request at a time. Prints per request
 * {"event":"reply","index":i,"rttMs":..,"reply":{message}} or
 * {"event":"requestFailed","index":i,"error":..}, then {"event":"summary"}.
 *
 * <p>By default (--api callback) it uses DefaultMQProducer.request(msg, RequestCallback, timeout)
 * and waits for the reply itself. The blocking request(msg, timeout) of rocketmq-client 5.3.1+
 * (5.3.3 included) is broken: the send callback counts the reply latch down as soon as the request
 * is stored, so it throws "send request message ... OK, but wait reply message timeout" at once,
 * before any reply can arrive (apache/rocketmq#9319). --api sync uses it anyway, to show that. The
 * callback variant has a milder form of the same bug: RequestCallback.onSuccess is called once
 * with null when the request is stored, then again with the reply; null is ignored here.
 */
final class Request {
  private Request() {}

  static int run(JavaPeer.Args a) throws Exception {
    String ns = a.req("namesrv");
    String topic = a.req("topic");
    String group = a.opt("group", "javapeer_request_" + JavaPeer.UNIQ);
    int count = a.intOpt("count", 1);
    int size = a.intOpt("size", 64);
    long reqTimeout = a.longOpt("request-timeout-ms", 5000);
    long deadline = JavaPeer.deadlineAfter(a.longOpt("timeout-ms", 120_000));
    String api = a.opt("api", "callback");
    if (!api.equals("callback") && !api.equals("sync")) {
      throw new JavaPeer.UsageException("--api must be callback or sync");
    }

    DefaultMQProducer p = new DefaultMQProducer(group);
    p.setNamesrvAddr(ns);
    p.setInstanceName(JavaPeer.instanceName("request"));
    p.start();
    int ok = 0;
    int failed = 0;
    try {
      for (int i = 0; i < count; i++) {
        if (System.nanoTime() - deadline > 0) {
          break;
        }
        Message m = new Message(topic, JavaPeer.body(i, size));
        long t0 = System.nanoTime();
        try {
          Message r = api.equals("sync") ? p.request(m, reqTimeout) : requestAndWait(p, m, reqTimeout);
          ok++;
          JavaPeer.emit(
              Json.event("reply")
                  .num("index", i)
                  .num("rttMs", (System.nanoTime() - t0) / 1e6)
                  .raw("reply", Json.message(r).done())
                  .done());
        } catch (Exception e) {
          failed++;
          JavaPeer.emit(
              Json.event("requestFailed")
                  .num("index", i)
                  .num("rttMs", (System.nanoTime() - t0) / 1e6)
                  .str("error", e.toString())
                  .done());
        }
      }
      JavaPeer.emit(Json.event("summary").num("ok", ok).num("failed", failed).done());
      return 0;
    } finally {
      JavaPeer.bounded("producer-shutdown", 10_000, p::shutdown);
    }
  }

  private static Message requestAndWait(DefaultMQProducer p, Message m, long timeoutMs)
      throws Exception {
    final CountDownLatch done = new CountDownLatch(1);
    final AtomicReference<Message> reply = new AtomicReference<>();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    p.request(
        m,
        new RequestCallback() {
          @Override
          public void onSuccess(Message r) {
            if (r != null) { // null: "request stored", not a reply (see the class comment)
              reply.set(r);
              done.countDown();
            }
          }

          @Override
          public void onException(Throwable e) {
            error.compareAndSet(null, e);
            done.countDown();
          }
        },
        timeoutMs);
    // The client's own expiry scan (every second) reports a timeout through onException; this
    // bound is only a safety net.
    if (!done.await(timeoutMs + 3000, TimeUnit.MILLISECONDS)) {
      throw new java.util.concurrent.TimeoutException("no reply and no error within " + timeoutMs + " ms");
    }
    if (reply.get() != null) {
      return reply.get();
    }
    Throwable e = error.get();
    throw e instanceof Exception ? (Exception) e : new RuntimeException(e);
  }
}
