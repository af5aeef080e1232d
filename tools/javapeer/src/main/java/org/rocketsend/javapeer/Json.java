package org.rocketsend.javapeer;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * A tiny JSON object writer. Output is pure ASCII: '"', '\\' and the usual control characters get
 * their short escapes, every other character below 0x20 and every character from 0x7f up (so
 * RocketMQ's \u0001 / \u0002 separators, non-ASCII text and lone surrogates alike) is written as a
 * \\uXXXX escape of its UTF-16 code unit. Any JSON decoder reads back exactly the Java string.
 */
final class Json {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final StringBuilder sb;
  private boolean first = true;

  Json() {
    this(128);
  }

  Json(int capacity) {
    sb = new StringBuilder(capacity);
    sb.append('{');
  }

  static Json event(String name) {
    return new Json().str("event", name);
  }

  private void key(String k) {
    if (!first) {
      sb.append(',');
    }
    first = false;
    quote(sb, k);
    sb.append(':');
  }

  Json str(String k, String v) {
    key(k);
    if (v == null) {
      sb.append("null");
    } else {
      quote(sb, v);
    }
    return this;
  }

  Json num(String k, long v) {
    key(k);
    sb.append(v);
    return this;
  }

  Json num(String k, double v) {
    key(k);
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      sb.append("null");
    } else {
      sb.append(v); // Double.toString: "12.5", "1.0E-4": both valid JSON numbers
    }
    return this;
  }

  Json bool(String k, boolean v) {
    key(k);
    sb.append(v);
    return this;
  }

  /** Adds an already encoded JSON value (object, array, ...). */
  Json raw(String k, String json) {
    key(k);
    sb.append(json == null ? "null" : json);
    return this;
  }

  Json bytes(String k, byte[] b) {
    key(k);
    if (b == null) {
      sb.append("null");
    } else {
      sb.append('"').append(Base64.getEncoder().encodeToString(b)).append('"');
    }
    return this;
  }

  /** A string map as a JSON object with sorted keys (null values become null). */
  Json map(String k, Map<String, String> m) {
    key(k);
    if (m == null) {
      sb.append("null");
      return this;
    }
    Json o = new Json();
    for (Map.Entry<String, String> e : new TreeMap<>(m).entrySet()) {
      o.str(e.getKey(), e.getValue());
    }
    sb.append(o.done());
    return this;
  }

  String done() {
    sb.append('}');
    return sb.toString();
  }

  static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        case '\b':
          sb.append("\\b");
          break;
        case '\f':
          sb.append("\\f");
          break;
        default:
          if (c < 0x20 || c >= 0x7f) {
            sb.append("\\u")
                .append(HEX[(c >> 12) & 0xf])
                .append(HEX[(c >> 8) & 0xf])
                .append(HEX[(c >> 4) & 0xf])
                .append(HEX[c & 0xf]);
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2);
    quote(sb, s);
    return sb.toString();
  }

  /** "ip:port" ("[v6]:port"), or the toString of an unusual address; null for null. */
  static String host(SocketAddress a) {
    if (a == null) {
      return null;
    }
    if (a instanceof InetSocketAddress) {
      InetSocketAddress i = (InetSocketAddress) a;
      String h = i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString();
      if (h.indexOf(':') >= 0) {
        h = "[" + h + "]";
      }
      return h + ":" + i.getPort();
    }
    return a.toString();
  }

  /**
   * One message as the client hands it to the application. For a MessageExt (what a consumer
   * gets) every stored field is included; for a plain Message only what it has.
   */
  static Json message(Message m) {
    byte[] body = m.getBody();
    Json j = new Json(256 + (body == null ? 0 : body.length * 4 / 3));
    j.str("topic", m.getTopic())
        .str("tags", m.getTags())
        .str("keys", m.getKeys())
        .map("properties", m.getProperties())
        .bytes("bodyBase64", body)
        .num("flag", m.getFlag());
    if (m instanceof MessageExt) {
      MessageExt e = (MessageExt) m;
      String offsetMsgId =
          e instanceof MessageClientExt ? ((MessageClientExt) e).getOffsetMsgId() : e.getMsgId();
      j.str("msgId", e.getMsgId())
          .str("offsetMsgId", offsetMsgId)
          .num("queueId", e.getQueueId())
          .str("brokerName", e.getBrokerName())
          .num("queueOffset", e.getQueueOffset())
          .num("sysFlag", e.getSysFlag())
          .num("bornTimestamp", e.getBornTimestamp())
          .num("storeTimestamp", e.getStoreTimestamp())
          .str("bornHost", host(e.getBornHost()))
          .str("storeHost", host(e.getStoreHost()))
          .num("reconsumeTimes", e.getReconsumeTimes())
          .num("commitLogOffset", e.getCommitLogOffset())
          .num("preparedTransactionOffset", e.getPreparedTransactionOffset())
          .num("storeSize", e.getStoreSize())
          .num("bodyCRC", e.getBodyCRC())
          .str("transactionId", e.getTransactionId());
    }
    return j;
  }
}
