package org.rocketsend.javapeer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.client.trace.TraceBean;
import org.apache.rocketmq.client.trace.TraceConstants;
import org.apache.rocketmq.client.trace.TraceContext;
import org.apache.rocketmq.client.trace.TraceDataEncoder;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Decodes a message of a trace topic with the official decoder
 * (TraceDataEncoder.decoderFromTraceDataString) and reports every TraceContext it yields, with its
 * TraceBean, as one JSON line: {"event":"trace", ...}. Fields are the decoder's, not re-parsed
 * here: what a Java trace reader (the dashboard, mqadmin queryMsgTraceById) would see.
 *
 * <p>Also reported per record: the trace message's id and KEYS, how many records the decoder
 * returned and how many FIELD_SPLITOR-separated records the body holds (the decoder silently skips
 * records of an unknown type), and the raw record text. A body the decoder throws on is reported
 * as {"event":"traceError",...}.
 */
final class Trace {
  private Trace() {}

  static List<String> decode(MessageExt msg) {
    String body = msg.getBody() == null ? "" : new String(msg.getBody(), StandardCharsets.UTF_8);
    String[] raw = body.split(String.valueOf(TraceConstants.FIELD_SPLITOR));
    List<String> out = new ArrayList<>();
    List<TraceContext> ctxs;
    try {
      ctxs = TraceDataEncoder.decoderFromTraceDataString(body);
    } catch (RuntimeException e) {
      out.add(
          Json.event("traceError")
              .str("traceMsgId", msg.getMsgId())
              .str("error", e.toString())
              .str("body", body)
              .done());
      return out;
    }
    for (int i = 0; i < ctxs.size(); i++) {
      TraceContext c = ctxs.get(i);
      Json j =
          Json.event("trace")
              .str("traceMsgId", msg.getMsgId())
              .str("traceKeys", msg.getKeys())
              .str("traceTopic", msg.getTopic())
              .num("decoded", ctxs.size())
              .num("rawRecords", raw.length)
              .str("raw", i < raw.length ? raw[i] : null)
              .str("traceType", c.getTraceType() == null ? null : c.getTraceType().name())
              .num("timeStamp", c.getTimeStamp())
              .str("regionId", c.getRegionId())
              .str("groupName", c.getGroupName())
              .num("costTime", c.getCostTime())
              .bool("success", c.isSuccess())
              .num("contextCode", c.getContextCode());
      List<TraceBean> beans = c.getTraceBeans();
      if (beans != null && !beans.isEmpty()) {
        TraceBean b = beans.get(0);
        j.str("topic", b.getTopic())
            .str("msgId", b.getMsgId())
            .str("offsetMsgId", b.getOffsetMsgId())
            .str("tags", b.getTags())
            .str("keys", b.getKeys())
            .str("storeHost", b.getStoreHost())
            .num("bodyLength", b.getBodyLength())
            .str("msgType", b.getMsgType() == null ? null : b.getMsgType().name())
            .str("transactionId", b.getTransactionId())
            .str(
                "transactionState",
                b.getTransactionState() == null ? null : b.getTransactionState().name())
            .bool("fromTransactionCheck", b.isFromTransactionCheck());
      }
      out.add(j.done());
    }
    return out;
  }
}
