// Command observability runs one producer with two tracing hooks side by side: the wasm tracing
// plugin (examples/plugins/tracing, a plugin block of the configuration), which stamps the
// properties trace_id and traced_by and logs each attempt through the host logger, and the native
// OpenTelemetry hook (plugins/hooks/otel, a native hook given to rocketsend.WithHooks), which makes
// a span per attempt, puts the W3C traceparent into the message and records the RocketMQ send
// metrics. It is an embedding program: it uses the package rocketsend, as a service would.
//
// The spans go to a small exporter that prints them, the metrics to a reader collected at the
// end; a real service would pass its OTLP exporter's providers instead. It prints:
//
//	sent msgId=<id> queue=<broker>:<queue> offset=<n> status=SEND_OK trace_id=<wasm> traceparent=<w3c>
//	span name="send <topic>" trace=<trace id> span=<span id> parent=<span id> status=<code> msgId=<id>
//	span name="observability example" trace=<trace id> span=<span id> parent=0000000000000000 status=Unset msgId=
//	metric rocketmq_send_cost_time topic=<topic> status=success count=<n>
//	metric rocketmq_send_messages_total topic=<topic> status=success value=<n>
//	metric rocketmq_send_bytes_total topic=<topic> status=success value=<bytes>
//
// Build the plugin, start a local cluster and run it:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o /tmp/tracing.wasm ./examples/plugins/tracing
//	tools/rocketmq/rmq.sh start
//	go run ./examples/observability -plugin /tmp/tracing.wasm -topic example_obs -create
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/plugins/hooks/otel"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("observability: ")
	namesrv := flag.String("namesrv", defaultNameServer(), "NameServer address(es), ';'-separated")
	topic := flag.String("topic", "example_obs", "topic to send to")
	plugin := flag.String("plugin", "", "path of the tracing plugin (tracing.wasm, built from examples/plugins/tracing)")
	n := flag.Int("n", 3, "messages to send")
	create := flag.Bool("create", false, "create the topic first (4 queues per broker)")
	flag.Parse()
	if *plugin == "" {
		log.Fatal("-plugin is required: build examples/plugins/tracing for GOOS=wasip1 GOARCH=wasm (see the doc comment)")
	}
	if err := run(*namesrv, *topic, *plugin, *n, *create); err != nil {
		log.Fatal(err)
	}
}

func run(namesrv, topic, pluginPath string, n int, create bool) (err error) {
	ctx := context.Background()

	// OpenTelemetry: spans printed as they end, metrics read on demand.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(printExporter{}))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { err = errors.Join(err, tp.Shutdown(ctx), mp.Shutdown(ctx)) }()

	otelHook, err := otel.New(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
	if err != nil {
		return err
	}
	// The configuration, built in memory here (a service would read rocketsend.hcl): the wasm
	// tracing plugin as a plugin block. One producer, both hooks: the native OpenTelemetry hook
	// first (native hooks run before the plugins), then the wasm plugin. Every log line, the
	// plugin's AFTER_SEND lines and the producer's own, goes to stderr through the one logger.
	cfg := &config.File{
		Producer: config.Producer{NameServers: strings.Split(namesrv, ";"), Group: "example_observability"},
		Plugins: []config.Plugin{{Name: "tracing", Kind: config.KindWasm, Path: pluginPath, Pos: "-plugin",
			Settings: []hookv1.KV{{Key: "name", Value: "obs"}}}},
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err := rocketsend.NewFromConfig(startCtx, cfg, rocketsend.WithHooks(otelHook),
		rocketsend.WithLogger(hclog.New(&hclog.LoggerOptions{Name: "observability", Output: os.Stderr, Level: hclog.Info})))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = errors.Join(err, p.Close(sctx)) // the producer and the plugin
	}()
	if create {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := p.CreateTopic(cctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}

	// Every send is a child of this span: one trace for the whole run.
	rootCtx, root := tp.Tracer("example").Start(ctx, "observability example")
	for i := range n {
		msg := message.New(topic, fmt.Appendf(nil, "observed %d", i))
		msg.SetTags("observed")
		sctx, cancel := context.WithTimeout(rootCtx, 10*time.Second)
		res, err := p.Send(sctx, msg)
		cancel()
		if err != nil {
			root.End()
			return fmt.Errorf("send message %d: %w", i, err)
		}
		fmt.Printf("sent msgId=%s queue=%s:%d offset=%d status=%s trace_id=%s traceparent=%s\n",
			res.MsgID, res.Queue.BrokerName, res.Queue.QueueID, res.QueueOffset, res.Status,
			msg.Property("trace_id"), msg.Property("traceparent"))
	}
	root.End()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return err
	}
	printMetrics(rm)
	for _, pl := range p.Plugins() {
		if pl.Stats.Failures != 0 {
			return fmt.Errorf("the %s plugin failed %d time(s)", pl.Name, pl.Stats.Failures)
		}
	}
	return nil
}

// printExporter prints each span as it ends (one line, fields as in the doc comment).
type printExporter struct{}

func (printExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		var id string
		for _, a := range s.Attributes() {
			if a.Key == "messaging.message.id" {
				id = a.Value.String()
			}
		}
		fmt.Printf("span name=%q trace=%s span=%s parent=%s status=%s msgId=%s\n", s.Name(),
			s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID(), s.Status().Code, id)
	}
	return nil
}

func (printExporter) Shutdown(context.Context) error { return nil }

func printMetrics(rm metricdata.ResourceMetrics) {
	label := func(s attribute.Set, k string) string { v, _ := s.Value(attribute.Key(k)); return v.String() }
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("metric %s topic=%s status=%s count=%d", m.Name,
						label(dp.Attributes, otel.LabelTopic), label(dp.Attributes, otel.LabelInvocationStatus), dp.Count))
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("metric %s topic=%s status=%s value=%d", m.Name,
						label(dp.Attributes, otel.LabelTopic), label(dp.Attributes, otel.LabelInvocationStatus), dp.Value))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}

// defaultNameServer is where Java clients look too: NAMESRV_ADDR, else the local default.
func defaultNameServer() string {
	if a := os.Getenv("NAMESRV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9876"
}
