package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/send"
)

// SettingType is the kind of value a producer setting takes in the file.
type SettingType string

// The setting types, as docs/config.md names them.
const (
	TypeString    SettingType = "string"
	TypeInt       SettingType = "whole number"
	TypeBool      SettingType = "bool"
	TypeDuration  SettingType = "duration"
	TypeSize      SettingType = "size"
	TypeAddrs     SettingType = "list of `\"host:port\"`, or one `\"a:1;b:2\"` string"
	TypeDurations SettingType = "list of durations"
)

// Setting describes one attribute of the producer block, once: the file's decoder, the producer
// options (Producer.Options), the command line's --set and the table in docs/config.md all come
// from it (a test checks the table).
type Setting struct {
	Name string
	Type SettingType
	// Min and Max bound whole numbers and sizes; Min bounds durations (in nanoseconds).
	Min, Max int64
	// Values, when set, are the only strings allowed.
	Values []string
	// Default is the producer's default, as the docs show it.
	Default string
	// Option is the send option the setting maps to, as docs/producer.md names it.
	Option string
	// Doc is the docs table's description.
	Doc string

	check  func(string) error            // more validation of a string
	field  func(p *Producer) any         // pointer to the Producer field that holds the value
	option func(p *Producer) send.Option // the option, or nil when the setting is unset
}

// Settings are the producer block's attributes, in the order of the docs table. The blocks
// (compression, backpressure, credentials, tls) are decoded in decode.go.
var Settings = []*Setting{
	{Name: "name_servers", Type: TypeAddrs, Default: "`$NAMESRV_ADDR`", Option: "WithNameServers",
		Doc:   "NameServer addresses",
		field: func(p *Producer) any { return &p.NameServers },
		option: func(p *Producer) send.Option {
			return when(len(p.NameServers) > 0, func() send.Option { return send.WithNameServers(p.NameServers...) })
		}},
	{Name: "group", Type: TypeString, Default: "required", Option: "WithGroup",
		Doc: "producer group, validated as RocketMQ validates group names; `DEFAULT_PRODUCER` is refused, as Java refuses it", check: codec.ValidateGroup,
		field:  func(p *Producer) any { return &p.Group },
		option: func(p *Producer) send.Option { return strOpt(p.Group, send.WithGroup) }},
	{Name: "instance_name", Type: TypeString, Default: "pid and start time", Option: "WithInstanceName",
		Doc:    "instance part of the client id `ip@instance`",
		field:  func(p *Producer) any { return &p.InstanceName },
		option: func(p *Producer) send.Option { return strOpt(p.InstanceName, send.WithInstanceName) }},
	{Name: "unit_name", Type: TypeString, Default: "none", Option: "WithUnitName",
		Doc:    "appended to the client id as `@unit`",
		field:  func(p *Producer) any { return &p.UnitName },
		option: func(p *Producer) send.Option { return strOpt(p.UnitName, send.WithUnitName) }},
	{Name: "namespace", Type: TypeString, Default: "none", Option: "WithNamespace",
		Doc: "topics and group become `namespace%name`; no `%` or spaces", check: func(s string) error {
			if strings.ContainsAny(s, "% ") {
				return fmt.Errorf("namespace must not contain %% or spaces; got %q", s)
			}
			return nil
		},
		field:  func(p *Producer) any { return &p.Namespace },
		option: func(p *Producer) send.Option { return strOpt(p.Namespace, send.WithNamespace) }},
	{Name: "send_timeout", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`3s`", Option: "WithSendTimeout",
		Doc:    "budget of one send across all its attempts",
		field:  func(p *Producer) any { return &p.SendTimeout },
		option: func(p *Producer) send.Option { return durOpt(p.SendTimeout, send.WithSendTimeout) }},
	{Name: "retries", Type: TypeInt, Min: 0, Max: 100, Default: "2", Option: "WithRetries",
		Doc:   "sync retries after the first attempt",
		field: func(p *Producer) any { return &p.Retries },
		option: func(p *Producer) send.Option {
			return when(p.Retries != nil, func() send.Option { return send.WithRetries(*p.Retries) })
		}},
	{Name: "async_retries", Type: TypeInt, Min: 0, Max: 100, Default: "2", Option: "WithAsyncRetries",
		Doc:   "async retries after the first attempt",
		field: func(p *Producer) any { return &p.AsyncRetries },
		option: func(p *Producer) send.Option {
			return when(p.AsyncRetries != nil, func() send.Option { return send.WithAsyncRetries(*p.AsyncRetries) })
		}},
	{Name: "retry_another_broker_when_not_store_ok", Type: TypeBool, Default: "false", Option: "WithRetryAnotherBrokerWhenNotStoreOK",
		Doc:   "retry on another broker after a flush or replica timeout",
		field: func(p *Producer) any { return &p.RetryAnotherBroker },
		option: func(p *Producer) send.Option {
			return boolOpt(p.RetryAnotherBroker, send.WithRetryAnotherBrokerWhenNotStoreOK)
		}},
	{Name: "max_message_size", Type: TypeSize, Min: 1, Max: codec.MaxFrameSize, Default: "4 MiB", Option: "WithMaxMessageSize",
		Doc:   "largest body, and largest batch request",
		field: func(p *Producer) any { return &p.MaxMessageSize },
		option: func(p *Producer) send.Option {
			return when(p.MaxMessageSize > 0, func() send.Option { return send.WithMaxMessageSize(p.MaxMessageSize) })
		}},
	{Name: "default_topic_queue_nums", Type: TypeInt, Min: 1, Max: 1024, Default: "4", Option: "WithDefaultTopicQueueNums",
		Doc:   "queues per broker of a topic created on first send",
		field: func(p *Producer) any { return &p.DefaultTopicQueueNums },
		option: func(p *Producer) send.Option {
			return when(p.DefaultTopicQueueNums > 0, func() send.Option { return send.WithDefaultTopicQueueNums(p.DefaultTopicQueueNums) })
		}},
	{Name: "create_topic_key", Type: TypeString, Default: "`TBW102`", Option: "WithCreateTopicKey",
		Doc: "the topic whose route stands in for a topic not created yet", check: codec.ValidateTopic,
		field:  func(p *Producer) any { return &p.CreateTopicKey },
		option: func(p *Producer) send.Option { return strOpt(p.CreateTopicKey, send.WithCreateTopicKey) }},
	{Name: "heartbeat_interval", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`30s`", Option: "WithHeartbeatInterval",
		Doc:    "heartbeats to every broker",
		field:  func(p *Producer) any { return &p.HeartbeatInterval },
		option: func(p *Producer) send.Option { return durOpt(p.HeartbeatInterval, send.WithHeartbeatInterval) }},
	{Name: "route_poll_interval", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`30s`", Option: "WithRoutePollInterval",
		Doc:    "refresh of every cached route",
		field:  func(p *Producer) any { return &p.RoutePollInterval },
		option: func(p *Producer) send.Option { return durOpt(p.RoutePollInterval, send.WithRoutePollInterval) }},
	{Name: "dial_timeout", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`3s`", Option: "WithDialTimeout",
		Doc:    "set-up of one connection (TCP and TLS)",
		field:  func(p *Producer) any { return &p.DialTimeout },
		option: func(p *Producer) send.Option { return durOpt(p.DialTimeout, send.WithDialTimeout) }},
	{Name: "timer_resolution", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`10ms`", Option: "WithTimerResolution",
		Doc:    "how precisely request deadlines fire",
		field:  func(p *Producer) any { return &p.TimerResolution },
		option: func(p *Producer) send.Option { return durOpt(p.TimerResolution, send.WithTimerResolution) }},
	{Name: "vip_channel", Type: TypeBool, Default: "false", Option: "WithVIPChannel",
		Doc:    "send to the broker's VIP port (listen port - 2)",
		field:  func(p *Producer) any { return &p.VIPChannel },
		option: func(p *Producer) send.Option { return boolOpt(p.VIPChannel, send.WithVIPChannel) }},
	{Name: "fault_tolerance", Type: TypeBool, Default: "false", Option: "WithFaultTolerance",
		Doc:    "avoid brokers that were slow or failed, for a while",
		field:  func(p *Producer) any { return &p.FaultTolerance },
		option: func(p *Producer) send.Option { return boolOpt(p.FaultTolerance, send.WithFaultTolerance) }},
	{Name: "latency_max", Type: TypeDurations, Default: "50ms .. 15s (Java 5.x)", Option: "WithLatencyTable",
		Doc:   "with `not_available_duration` (both or neither, same length): an attempt at least `latency_max[i]` long isolates its broker for `not_available_duration[i]`",
		field: func(p *Producer) any { return &p.LatencyMax },
		option: func(p *Producer) send.Option {
			return when(len(p.LatencyMax) > 0, func() send.Option { return send.WithLatencyTable(p.LatencyMax, p.NotAvailableDuration) })
		}},
	{Name: "not_available_duration", Type: TypeDurations, Default: "0s .. 30s (Java 5.x)", Option: "WithLatencyTable",
		Doc:    "see `latency_max`",
		field:  func(p *Producer) any { return &p.NotAvailableDuration },
		option: func(p *Producer) send.Option { return nil }}, // one option with latency_max
	{Name: "client_ip", Type: TypeString, Default: "first non-loopback IPv4", Option: "WithClientIP",
		Doc: "the `ip` of the client id and the born host", check: func(s string) error {
			if _, err := netip.ParseAddr(s); err != nil {
				return fmt.Errorf("client_ip must be an IP address; got %q", s)
			}
			return nil
		},
		field:  func(p *Producer) any { return &p.ClientIP },
		option: func(p *Producer) send.Option { return strOpt(p.ClientIP, send.WithClientIP) }},
	{Name: "unit_mode", Type: TypeBool, Default: "false", Option: "WithUnitMode",
		Doc:    "the `unitMode` flag of every send, for unitized deployments",
		field:  func(p *Producer) any { return &p.UnitMode },
		option: func(p *Producer) send.Option { return boolOpt(p.UnitMode, send.WithUnitMode) }},
	{Name: "callback_workers", Type: TypeInt, Min: 1, Max: 1024, Default: "4", Option: "WithCallbackWorkers",
		Doc:   "goroutines that run async callbacks",
		field: func(p *Producer) any { return &p.CallbackWorkers },
		option: func(p *Producer) send.Option {
			return when(p.CallbackWorkers > 0, func() send.Option { return send.WithCallbackWorkers(p.CallbackWorkers) })
		}},
	{Name: "auto_batch", Type: TypeBool, Default: "false", Option: "WithAutoBatch",
		Doc:    "hold async sends briefly and send those for one queue as one batch request (Java's `autoBatch`)",
		field:  func(p *Producer) any { return &p.AutoBatch },
		option: func(p *Producer) send.Option { return boolOpt(p.AutoBatch, send.WithAutoBatch) }},
	{Name: "batch_max_delay", Type: TypeDuration, Min: int64(time.Millisecond), Default: "`10ms`", Option: "WithBatchMaxDelay",
		Doc:    "with `auto_batch`: longest a message waits for its batch, at most `30s` (Java's `batchMaxDelayMs`)",
		field:  func(p *Producer) any { return &p.BatchMaxDelay },
		option: func(p *Producer) send.Option { return durOpt(p.BatchMaxDelay, send.WithBatchMaxDelay) }},
	{Name: "batch_max_bytes", Type: TypeSize, Min: 1, Max: 2 << 20, Default: "32 KiB", Option: "WithBatchMaxBytes",
		Doc:   "with `auto_batch`: body bytes that send a batch at once (Java's `batchMaxBytes`)",
		field: func(p *Producer) any { return &p.BatchMaxBytes },
		option: func(p *Producer) send.Option {
			return when(p.BatchMaxBytes > 0, func() send.Option { return send.WithBatchMaxBytes(p.BatchMaxBytes) })
		}},
	{Name: "total_batch_max_bytes", Type: TypeSize, Min: 1, Max: 1 << 40, Default: "32 MiB", Option: "WithTotalBatchMaxBytes",
		Doc:   "with `auto_batch`: body bytes all batches hold at once; past it, sends go unbatched (Java's `totalBatchMaxBytes`)",
		field: func(p *Producer) any { return &p.TotalBatchMaxBytes },
		option: func(p *Producer) send.Option {
			return when(p.TotalBatchMaxBytes > 0, func() send.Option { return send.WithTotalBatchMaxBytes(int64(p.TotalBatchMaxBytes)) })
		}},
	{Name: "serialize", Type: TypeString, Values: []string{"rocketmq", "json"}, Default: "`\"rocketmq\"`", Option: "WithSerializeType",
		Doc:   "header format of requests",
		field: func(p *Producer) any { return &p.Serialize },
		option: func(p *Producer) send.Option {
			return when(p.Serialize != nil, func() send.Option { return send.WithSerializeType(*p.Serialize) })
		}},
}

// CodeOnlyOptions are the producer options of docs/producer.md the file does not set, and why:
// they take Go values. A test checks that every option of docs/producer.md is a Setting's, a
// block's or one of these.
var CodeOnlyOptions = map[string]string{
	"WithHooks":              "Go hooks: rocketsend.WithHooks, or plugins in the file",
	"WithQueueSelector":      "a Go selector factory: selector plugins in the file",
	"WithRPCHooks":           "Go RPC hooks",
	"WithLogger":             "a *slog.Logger: rocketsend.WithLogger gives one hclog logger to everything",
	"WithTransactionChecker": "Go code that answers check-backs",
}

// BlockOptions are the options the producer block's blocks map to.
var BlockOptions = map[string]string{
	"compression": "WithCompression", "backpressure": "WithAsyncBackpressure",
	"credentials": "WithCredentials", "tls": "WithTLS",
}

func when(set bool, o func() send.Option) send.Option {
	if !set {
		return nil
	}
	return o()
}

func strOpt(v string, o func(string) send.Option) send.Option {
	return when(v != "", func() send.Option { return o(v) })
}

func durOpt(v time.Duration, o func(time.Duration) send.Option) send.Option {
	return when(v > 0, func() send.Option { return o(v) })
}

func boolOpt(v bool, o func(bool) send.Option) send.Option {
	return when(v, func() send.Option { return o(true) })
}

// lookupSetting returns the setting named name, or nil.
func lookupSetting(name string) *Setting {
	for _, s := range Settings {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// setting decodes attribute a, described by s, into p.
func (d *decoder) setting(s *Setting, a *hcl.Attribute, p *Producer) {
	switch dst := s.field(p).(type) {
	case *string:
		v, ok := d.str(a)
		if !ok {
			return
		}
		if len(s.Values) > 0 && !containsFold(s.Values, v) {
			d.errorf(a.Expr.Range(), "Invalid "+s.Name, "%s must be %s; got %q", s.Name, quoteList(s.Values), v)
			return
		}
		if s.check != nil {
			if err := s.check(v); err != nil {
				d.errorf(a.Expr.Range(), "Invalid "+s.Name, "%v", err)
				return
			}
		}
		*dst = v
	case **codec.SerializeType:
		v, ok := d.str(a)
		if !ok {
			return
		}
		var st codec.SerializeType
		switch strings.ToLower(v) {
		case "rocketmq":
			st = codec.SerializeRocketMQ
		case "json":
			st = codec.SerializeJSON
		default:
			d.errorf(a.Expr.Range(), "Invalid "+s.Name, "%s must be %s; got %q", s.Name, quoteList(s.Values), v)
			return
		}
		*dst = &st
	case **int:
		if v, ok := d.integer(a, s.Min, s.Max); ok {
			n := int(v)
			*dst = &n
		}
	case *int:
		if s.Type == TypeSize {
			if v, ok := d.size(a, s.Min, s.Max); ok {
				*dst = int(v)
			}
		} else if v, ok := d.integer(a, s.Min, s.Max); ok {
			*dst = int(v)
		}
	case *bool:
		if v, ok := d.boolean(a); ok {
			*dst = v
		}
	case *time.Duration:
		if v, ok := d.duration(a, time.Duration(s.Min)); ok {
			*dst = v
		}
	case *[]time.Duration:
		if strs, ok := d.strs(a); ok {
			var out []time.Duration
			for _, t := range strs {
				v, err := time.ParseDuration(t)
				if err != nil || v < 0 {
					d.errorf(a.Expr.Range(), "Invalid duration", `%s must be a list of durations like ["50ms", "1s"]; got %q`, s.Name, t)
					return
				}
				out = append(out, v)
			}
			*dst = out
		}
	case *[]string: // name_servers: a list, or one string with ";" between addresses
		v, diags := a.Expr.Value(d.ctx)
		var addrs []string
		if !diags.HasErrors() && !v.IsNull() && v.Type() == cty.String {
			addrs = []string{v.AsString()}
		} else if l, ok := d.strs(a); ok {
			addrs = l
		} else {
			return
		}
		for _, ns := range addrs {
			for _, one := range strings.Split(ns, ";") {
				if _, port, ok := strings.Cut(strings.TrimSpace(one), ":"); !ok || port == "" {
					d.errorf(a.Expr.Range(), "Invalid NameServer address",
						`%s must be "host:port" addresses (a list, or one string with ";" between them); got %q`, s.Name, one)
					return
				}
			}
		}
		*dst = addrs
	default:
		panic(fmt.Sprintf("config: setting %s has a field of type %T", s.Name, dst))
	}
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// checkProducer checks what concerns several settings at once.
func (d *decoder) checkProducer(at hcl.Attributes, p *Producer) {
	lm, na := at["latency_max"], at["not_available_duration"]
	switch {
	case lm != nil && na == nil:
		d.errorf(lm.NameRange, "Missing not_available_duration", "latency_max needs not_available_duration, one isolation time per latency")
	case na != nil && lm == nil:
		d.errorf(na.NameRange, "Missing latency_max", "not_available_duration needs latency_max, one latency per isolation time")
	case lm != nil && len(p.LatencyMax) != len(p.NotAvailableDuration):
		d.errorf(na.Expr.Range(), "Mismatched latency table", "latency_max has %d entries, not_available_duration %d: they pair up", len(p.LatencyMax), len(p.NotAvailableDuration))
	case lm != nil:
		for i := 1; i < len(p.LatencyMax); i++ {
			if p.LatencyMax[i] < p.LatencyMax[i-1] {
				d.errorf(lm.Expr.Range(), "Unsorted latency_max", "latency_max must ascend; %v comes after %v", p.LatencyMax[i], p.LatencyMax[i-1])
				break
			}
		}
	}
}

// SettingsTable is the docs/config.md table of the producer block's attributes.
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| attribute | type | default | maps to | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, s := range Settings {
		typ := string(s.Type)
		switch {
		case len(s.Values) > 0:
			q := make([]string, len(s.Values))
			for i, v := range s.Values {
				q[i] = "`\"" + v + "\"`"
			}
			typ = strings.Join(q, " or ")
		case s.Type == TypeInt || s.Type == TypeSize:
			typ = fmt.Sprintf("%s, %d..%d", s.Type, s.Min, s.Max)
		case s.Type == TypeDuration:
			typ = fmt.Sprintf("duration, at least %v", time.Duration(s.Min))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` | %s |\n", s.Name, typ, s.Default, s.Option, s.Doc)
	}
	return b.String()
}

// Set decodes one producer setting given as text, name=value as the command line's --set takes
// it, into p, with the file's validation. Strings, durations and sizes need no quotes
// (send_timeout=5s, max_message_size=8MiB); a list of durations is comma-separated. An invalid
// value or an unknown name gives an *Error ("did you mean" included).
func (p *Producer) Set(name, value string) error {
	src := []byte(name + " = " + literal(lookupSetting(name), value) + "\n")
	d := newDecoder(src, "--set "+name)
	f, diags := hclsyntax.ParseConfig(src, d.filename, hcl.InitialPos)
	d.files[d.filename] = f
	d.diags = append(d.diags, diags...)
	if !diags.HasErrors() {
		c := d.body(f.Body, &hcl.BodySchema{Attributes: settingSchema()})
		if a := c.Attributes[name]; a != nil {
			d.setting(lookupSetting(name), a, p)
		}
	}
	if d.diags.HasErrors() {
		return &Error{Diags: d.diags, files: d.files}
	}
	return nil
}

// literal writes value as the HCL expression the setting's type reads.
func literal(s *Setting, value string) string {
	if s == nil {
		return strconv.Quote(value)
	}
	switch s.Type {
	case TypeInt, TypeBool:
		return value
	case TypeDurations:
		if strings.HasPrefix(strings.TrimSpace(value), "[") {
			return value
		}
		var q []string
		for _, v := range strings.Split(value, ",") {
			q = append(q, strconv.Quote(strings.TrimSpace(v)))
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return strconv.Quote(value)
}
