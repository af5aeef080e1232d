//go:build !wasip1

package guest

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/sdk/hookgrpc"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Serve runs the registered plugin as a process plugin (hashicorp/go-plugin over gRPC, the Hook
// service of sdk/hookgrpc) and returns when the host disconnects or stops it. Call it from main:
//
//	func main() { guest.Serve() }
//
// and build the same package natively (go build -o plugin .) for a process plugin, or with
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared for a wasm plugin, where main never runs. The
// plugin functions see the same API either way; on this transport:
//
//   - calls are served one at a time, in order, as one wasm instance serves them (plugin state
//     needs no locking);
//   - Property and View.Property both work: the host always sends the properties;
//   - Body and ReadBody work when the plugin declares NEED_BODY_LAZY or NEED_BODY_EAGER: the host
//     sends the body with each call;
//   - Log and Logf write JSON lines on stderr, which the host re-emits on the plugin's logger, at
//     the level the host announced (hookgrpc.LogLevelEnv);
//   - an Init error rejects the configuration: the host reports the text and fails the loading;
//   - the process exits by itself within a second if the host dies without stopping it.
//
// Run by hand (without the host's handshake), the binary explains that it is a plugin and exits
// with status 1.
func Serve() {
	name := "plugin"
	if rt.plugin != nil {
		name = rt.plugin.Name
	}
	s := newProcServer(hookgrpc.NewLogger(name))
	go exitWithParent(os.Getppid(), time.Second)
	hookgrpc.Serve(s, s.log)
}

// exitWithParent ends the plugin when the host that started it is gone (its parent process id
// changes: it was re-parented). A host that exits normally stops its plugins; one killed outright
// (SIGKILL, OOM) cannot, and go-plugin's server would otherwise keep running as an orphan.
func exitWithParent(ppid int, every time.Duration) {
	if ppid <= 1 {
		return // started by init or a reaper: no parent to watch
	}
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			os.Exit(0)
		}
	}
}

// procServer implements the Hook service on the package's runtime.
type procServer struct {
	hookgrpc.UnimplementedHookServer
	mu  sync.Mutex // one call at a time, like one wasm instance
	log hclog.Logger
	imp procImporter
}

func newProcServer(log hclog.Logger) *procServer {
	s := &procServer{log: log}
	s.imp.logger = log
	imp = &s.imp
	return s
}

// procImporter answers the imports from the current request.
type procImporter struct {
	logger  hclog.Logger
	bodyB   []byte
	hasBody bool
	initErr string
}

func (p *procImporter) body() ([]byte, bool) { return p.bodyB, p.hasBody }

func (p *procImporter) property(name string) (string, bool) {
	v, ok := rt.view.Property(name)
	return string(v), ok
}

func (p *procImporter) logEnabled(level int32) bool {
	return level >= hookv1.LogTrace && level <= hookv1.LogError && p.logger.GetLevel() <= hclog.Level(level)
}

func (p *procImporter) log(level int32, msg string) {
	if level < hookv1.LogTrace || level > hookv1.LogError {
		level = hookv1.LogInfo
	}
	p.logger.Log(hclog.Level(level), msg)
}

func (p *procImporter) initError(msg string) { p.initErr = msg }

func (s *procServer) Describe(context.Context, *hookgrpc.DescribeRequest) (*hookgrpc.DescribeResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, isErr := rt.describe()
	if isErr {
		return &hookgrpc.DescribeResponse{Error: string(b)}, nil
	}
	return &hookgrpc.DescribeResponse{Info: append([]byte(nil), b...)}, nil
}

func (s *procServer) Init(_ context.Context, req *hookgrpc.InitRequest) (*hookgrpc.InitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.imp.initErr = ""
	if err := rt.initConfigBytes(req.Config); err != nil {
		return &hookgrpc.InitResponse{Error: err.Error()}, nil
	}
	return &hookgrpc.InitResponse{}, nil
}

func (s *procServer) Call(_ context.Context, req *hookgrpc.CallRequest) (*hookgrpc.CallResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res hookgrpc.CallResult
	s.call(req, &res)
	return &res, nil
}

func (s *procServer) CallStream(stream hookgrpc.Hook_CallStreamServer) error {
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out := &hookgrpc.ResultBatch{Results: make([]*hookgrpc.CallResult, len(batch.Calls))}
		results := make([]hookgrpc.CallResult, len(batch.Calls))
		s.mu.Lock()
		for i, req := range batch.Calls {
			s.call(req, &results[i])
			out.Results[i] = &results[i]
		}
		s.mu.Unlock()
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

// call runs one request on the runtime, as hook_call does; s.mu is held.
func (s *procServer) call(req *hookgrpc.CallRequest, res *hookgrpc.CallResult) {
	res.Id = req.Id
	s.imp.bodyB, s.imp.hasBody = req.Body, req.Body != nil
	b, isErr := rt.callView(req.Point, req.View)
	s.imp.bodyB, s.imp.hasBody = nil, false
	switch {
	case isErr:
		res.Error = string(b)
		if res.Error == "" {
			res.Error = "error"
		}
	case len(b) > 0:
		res.Decision = append([]byte(nil), b...) // b is the runtime's builder, reused next call
	}
}
